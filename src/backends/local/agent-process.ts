/**
 * The local backend's agent as a detached child process (DESIGN.md §2): it outlives the daemon, so a daemon
 * restart finds it through `agent-process.json` and reuses it; a different version or Docker host restarts it
 * (replicas survive an agent restart: the agent adopts them). The token lives in a 0600 file passed with
 * --token-file, never on argv (it would show in `ps`).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { InternalError } from '../../core/errors.js';
import { newToken } from '../../core/home/config-file.js';
import { writeFileAtomic } from '../../core/home/atomic-write.js';
import { AgentClient } from '../agent-client.js';

export const AgentProcessFile = z.object({
  pid: z.number().int(),
  port: z.number().int(),
  version: z.string(),
  dockerHost: z.string().optional(),
  agentId: z.string().optional(),
  startedAt: z.number(),
});
export type AgentProcessFile = z.infer<typeof AgentProcessFile>;

export interface LocalAgentOptions {
  /** DSTACK_HOME/server/local-agent */
  dir: string;
  version: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export interface LocalAgent {
  client: AgentClient;
  port: number;
  pid: number;
}

const files = (dir: string) => ({
  token: join(dir, 'agent-token'),
  process: join(dir, 'agent-process.json'),
  log: join(dir, 'agent.log'),
});

/** The command that runs the agent: DSTACK_AGENT_BIN, a `dstack-agent` beside a single binary, or dist/agent.js. */
export function agentCommand(env: NodeJS.ProcessEnv = process.env): string[] {
  const explicit = env.DSTACK_AGENT_BIN;
  if (explicit) return /\.[cm]?js$/.test(explicit) ? [process.execPath, explicit] : [explicit];
  const beside = join(dirname(process.execPath), 'dstack-agent');
  if (existsSync(beside)) return [beside];
  const candidates = [process.argv[1] ? join(dirname(process.argv[1]), 'agent.js') : undefined];
  try {
    candidates.push(join(dirname(fileURLToPath(import.meta.url)), 'agent.js'));
  } catch {
    // import.meta.url is not a file URL inside some single-binary loaders.
  }
  const bundle = candidates.find((c): c is string => c !== undefined && existsSync(c));
  if (bundle) return [process.execPath, bundle];
  throw new InternalError('AGENT_NOT_FOUND', 'cannot find dstack-agent (no DSTACK_AGENT_BIN, no dstack-agent binary, no dist/agent.js)', {
    hint: 'Run `npm run build`, or set DSTACK_AGENT_BIN to the agent executable.',
  });
}

/**
 * The agent adopts (and reports) every container carrying its id, so two homes sharing one Docker engine must
 * not share an id: otherwise one daemon would see the other's replicas as leftovers and stop them.
 */
export function localAgentId(dir: string): string {
  return `local-${createHash('sha256').update(resolve(dir)).digest('hex').slice(0, 12)}`;
}

async function readToken(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const token = newToken();
    await writeFileAtomic(file, token);
    return token;
  }
}

async function readProcessFile(file: string): Promise<AgentProcessFile | undefined> {
  try {
    const parsed = AgentProcessFile.safeParse(JSON.parse(await readFile(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Reuses the running local agent when it answers with our version and Docker host; else (re)starts it. */
export async function ensureLocalAgent(options: LocalAgentOptions): Promise<LocalAgent> {
  const env = options.env ?? process.env;
  const f = files(options.dir);
  await mkdir(options.dir, { recursive: true, mode: 0o700 });
  const token = await readToken(f.token);
  const dockerHost = env.DOCKER_HOST || undefined;
  const recorded = await readProcessFile(f.process);
  if (recorded && alive(recorded.pid)) {
    const client = new AgentClient({ origin: `http://127.0.0.1:${recorded.port}`, token });
    const health = await client.health().catch(() => undefined);
    if (health && health.version === options.version && recorded.dockerHost === dockerHost && recorded.agentId === localAgentId(options.dir)) {
      return { client, port: recorded.port, pid: recorded.pid };
    }
    await client.close();
    options.log?.(`restarting local agent pid ${recorded.pid} (version ${health?.version ?? 'unknown'}, want ${options.version})`);
    await stopPid(recorded.pid);
  }
  return startAgent(options, token, dockerHost);
}

async function startAgent(options: LocalAgentOptions, token: string, dockerHost: string | undefined): Promise<LocalAgent> {
  const env = options.env ?? process.env;
  const f = files(options.dir);
  const [cmd, ...prefix] = agentCommand(env);
  if (cmd === undefined) throw new InternalError('AGENT_NOT_FOUND', 'empty agent command');
  const port = await freePort();
  const args = [...prefix, 'start', '--host', '127.0.0.1', '--port', String(port), '--token-file', f.token, '--home', options.dir];
  if (dockerHost) args.push('--docker-host', dockerHost);
  args.push('--agent-id', localAgentId(options.dir));
  const fd = openSync(f.log, 'a', 0o600);
  let child;
  try {
    child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env: { ...env } });
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new InternalError('AGENT_START_FAILED', `cannot start the local agent (${cmd})`);
  const client = new AgentClient({ origin: `http://127.0.0.1:${port}`, token });
  const health = await waitHealthy(client, exited, f.log);
  child.removeAllListeners();
  await writeFileAtomic(f.process, JSON.stringify({ pid, port, version: health.version, dockerHost, agentId: localAgentId(options.dir), startedAt: Date.now() }));
  options.log?.(`local agent started: pid ${pid}, port ${port}, runtime ${health.runtime}`);
  return { client, port, pid };
}

async function waitHealthy(client: AgentClient, exited: Promise<number | null>, logFile: string) {
  let code: number | null | undefined;
  void exited.then((c) => (code = c));
  for (let i = 0; i < 300; i++) {
    if (code !== undefined) break;
    const health = await client.health().catch(() => undefined);
    if (health) return health;
    await new Promise((r) => setTimeout(r, 100));
  }
  await client.close();
  throw new InternalError('AGENT_START_FAILED', `the local agent did not become healthy${code !== undefined ? ` (exited with ${code})` : ''}`, {
    hint: `See ${logFile}.`,
  });
}

async function stopPid(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

/** Stops the local agent of this home (tests, `dstack server --stop-agent` later); replicas keep running. */
export async function stopLocalAgent(dir: string): Promise<void> {
  const recorded = await readProcessFile(files(dir).process);
  if (recorded && alive(recorded.pid)) await stopPid(recorded.pid);
}
