import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AGENT_DEFAULT_PORT } from '../core/model/agent-constants.js';
import type { AgentOptions } from './agent.js';
import { AgentError } from './errors.js';

/** Here rather than in agent.ts, so `--help` (which prints it) loads none of the agent. */
export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

export const USAGE = `Usage: dstack-agent [start] [--detach] [options]
       dstack-agent install [options]   install as a systemd unit (or start detached without systemd)
       dstack-agent stop [--home DIR]     stop the detached agent
       dstack-agent --version

Options:
  --port N            API port on --host (env DSTACK_AGENT_PORT, default ${AGENT_DEFAULT_PORT})
  --host ADDR         listen address (default 127.0.0.1)
  --token-file FILE   file holding the host token (env DSTACK_AGENT_TOKEN_FILE, default <home>/token)
  --home DIR          state directory (default /root/.dstack-agent as root, else $HOME/.dstack-agent)
  --docker-host URL   Docker engine (else DOCKER_HOST, else ${DEFAULT_DOCKER_HOST})
  --agent-id ID       value of the ai.dstack.agent label (default "default")
  --runtime R         auto | docker | process (default auto)
  -d, --detach        run in the background with a pidfile in <home>`;

export const parseCli = (argv: string[]) =>
  parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'token-file': { type: 'string' },
      home: { type: 'string' },
      'docker-host': { type: 'string' },
      'agent-id': { type: 'string' },
      runtime: { type: 'string' },
      detach: { type: 'boolean', short: 'd' },
      version: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  });

export type CliValues = ReturnType<typeof parseCli>['values'];

export function defaultHome(env: NodeJS.ProcessEnv = process.env): string {
  if (process.getuid?.() === 0) return '/root/.dstack-agent';
  return path.join(env.HOME ?? os.homedir(), '.dstack-agent');
}

/** Flags, then environment, then defaults. The token is read from a file so it never shows in `ps`. */
export async function resolveOptions(values: CliValues, env: NodeJS.ProcessEnv = process.env): Promise<AgentOptions> {
  const home = path.resolve(values.home ?? defaultHome(env));
  const portText = values.port ?? env.DSTACK_AGENT_PORT;
  const port = portText === undefined ? AGENT_DEFAULT_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new AgentError('INVALID_FLAG', `--port: expected 0..65535, got "${portText}"`, 400);
  const runtime = values.runtime ?? 'auto';
  if (runtime !== 'auto' && runtime !== 'docker' && runtime !== 'process') {
    throw new AgentError('INVALID_FLAG', `--runtime: expected auto, docker or process, got "${runtime}"`, 400);
  }
  const tokenFile = path.resolve(values['token-file'] ?? env.DSTACK_AGENT_TOKEN_FILE ?? path.join(home, 'token'));
  const token = (await readFile(tokenFile, 'utf8').catch(() => {
    throw new AgentError('NO_TOKEN', `cannot read the token file ${tokenFile} (--token-file or DSTACK_AGENT_TOKEN_FILE)`, 400);
  })).trim();
  if (!token) throw new AgentError('NO_TOKEN', `the token file ${tokenFile} is empty`, 400);
  return {
    token,
    home,
    port,
    host: values.host ?? '127.0.0.1',
    dockerHost: values['docker-host'] ?? env.DOCKER_HOST ?? DEFAULT_DOCKER_HOST,
    agentId: values['agent-id'] ?? 'default',
    runtime,
  };
}
