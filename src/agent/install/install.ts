import { execFile, spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const UNIT_NAME = 'dstack-agent.service';

/** True when PID 1 is systemd (a unit can be installed); containers and sandboxes usually run something else. */
export async function systemdRuns(procRoot = '/proc'): Promise<boolean> {
  const comm = await readFile(`${procRoot}/1/comm`, 'utf8').catch(() => '');
  return comm.trim() === 'systemd';
}

/** The unit dstack's shim gets, adapted: restart always, token only through the token file (never on argv). */
export function systemdUnit(execArgv: readonly string[], env: Record<string, string>): string {
  const quote = (a: string) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(a) ? a : `"${a.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`);
  return [
    '[Unit]',
    'Description=dstack host agent',
    'After=network-online.target docker.service',
    'Wants=network-online.target',
    'StartLimitIntervalSec=3600',
    'StartLimitBurst=1080',
    '',
    '[Service]',
    'Type=simple',
    'User=root',
    `ExecStart=${execArgv.map(quote).join(' ')}`,
    ...Object.entries(env).map(([k, v]) => `Environment=${quote(`${k}=${v}`)}`),
    'Restart=always',
    'RestartSec=3',
    // Replicas outlive the agent: stopping the unit must not kill the process replicas it started.
    'KillMode=process',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

const run = (cmd: string, args: string[]) =>
  new Promise<void>((resolve, reject) => execFile(cmd, args, (e, _out, stderr) => (e ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || e.message}`)) : resolve())));

export async function installSystemdUnit(execArgv: readonly string[], env: Record<string, string>, unitDir = '/etc/systemd/system'): Promise<string> {
  const file = path.join(unitDir, UNIT_NAME);
  await writeFile(file, systemdUnit(execArgv, env), { mode: 0o644 });
  await run('systemctl', ['daemon-reload']);
  await run('systemctl', ['enable', UNIT_NAME]);
  await run('systemctl', ['restart', UNIT_NAME]);
  return file;
}

export const pidFile = (home: string) => path.join(home, 'agent.pid');
export const logFile = (home: string) => path.join(home, 'agent.log');

/** Starts the agent detached (own session, output to <home>/agent.log) and records its pid. Returns the pid. */
export async function startDetached(execArgv: readonly string[], home: string, env: NodeJS.ProcessEnv): Promise<number> {
  const fd = openSync(logFile(home), 'a', 0o600);
  try {
    const [cmd = process.execPath, ...args] = execArgv;
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid as number));
      child.once('error', reject);
    });
    child.unref();
    await writeFile(pidFile(home), `${pid}\n`, { mode: 0o600 });
    return pid;
  } finally {
    closeSync(fd);
  }
}

/** Stops the detached agent named by the pidfile (SIGTERM, then SIGKILL after `timeoutMs`). False if none ran. */
export async function stopDetached(home: string, timeoutMs = 10_000): Promise<boolean> {
  const pid = Number((await readFile(pidFile(home), 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) {
    await rm(pidFile(home), { force: true });
    return false;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive()) process.kill(pid, 'SIGKILL');
  await rm(pidFile(home), { force: true });
  return true;
}
