import { USAGE, parseCli } from './cli-options.js';
import { agentVersion } from './version.js';

const COMMANDS = ['start', 'install', 'stop'] as const;
const isCommand = (c: string): c is (typeof COMMANDS)[number] => (COMMANDS as readonly string[]).includes(c);

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(argv);
  const command = positionals[0] ?? 'start';
  if (values.version || command === 'version') {
    process.stdout.write(`dstack-agent ${agentVersion()}\n`);
    return 0;
  }
  if (values.help || !isCommand(command)) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  // The agent itself (Docker client, HTTP API) is evaluated only from here on; the bundle stays one file.
  const { runCommand } = await import('./commands.js');
  return runCommand(command, values);
}

// Errors of the commands are reported by commands.ts (its AgentError class is not this file's in dist/agent.js).
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`dstack-agent: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
