/**
 * `dstack-agent start | install | stop`: everything past `--version` and `--help`. main.ts imports this file only
 * for these commands, so answering those two evaluates none of the agent (issue 15: start-up time).
 */
import { startAgent } from './agent.js';
import { type CliValues, defaultHome, resolveOptions } from './cli-options.js';
import { isAgentError } from './errors.js';
import { installSystemdUnit, startDetached, stopDetached, systemdRuns } from './install/install.js';

/** How to re-run this very agent: the SEA binary is its own interpreter; a bundle needs node + the script. */
async function selfArgv(): Promise<string[]> {
  const sea = await import('node:sea').then((m) => m.isSea()).catch(() => false);
  return sea ? [process.execPath] : [process.execPath, ...process.execArgv, process.argv[1] as string];
}

/** Flags to pass on to a detached or systemd-run agent; the token stays in its file. */
function forwardFlags(values: CliValues, home: string): string[] {
  const out = ['start', '--home', home];
  for (const key of ['port', 'host', 'token-file', 'docker-host', 'agent-id', 'runtime'] as const) {
    const v = values[key];
    if (v !== undefined) out.push(`--${key}`, v);
  }
  return out;
}

/** Runs a command; its failure is reported on stderr as `dstack-agent: CODE: message` and exit status 1. */
export async function runCommand(command: 'start' | 'install' | 'stop', values: CliValues): Promise<number> {
  try {
    return await run(command, values);
  } catch (e) {
    process.stderr.write(`dstack-agent: ${isAgentError(e) ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

async function run(command: 'start' | 'install' | 'stop', values: CliValues): Promise<number> {
  const home = values.home ?? defaultHome();
  if (command === 'stop') {
    const stopped = await stopDetached(home);
    process.stdout.write(stopped ? 'dstack-agent stopped\n' : 'dstack-agent was not running\n');
    return 0;
  }
  const options = await resolveOptions(values); // validates flags and the token file before going to the background
  const child = [...(await selfArgv()), ...forwardFlags(values, options.home)];
  if (command === 'install' && (await systemdRuns())) {
    const unit = await installSystemdUnit(child, {});
    process.stdout.write(`installed ${unit}\n`);
    return 0;
  }
  if (command === 'install' || values.detach) {
    await stopDetached(options.home);
    const pid = await startDetached(child, options.home, process.env);
    process.stdout.write(`dstack-agent started (pid ${pid})\n`);
    return 0;
  }
  const agent = await startAgent({ ...options, log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`) });
  await new Promise<void>((resolve) => {
    // Replicas keep running when the agent stops; only the API goes away.
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await agent.close();
  return 0;
}
