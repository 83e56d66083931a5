/**
 * Finds the daemon of this DSTACK_HOME, or starts one (DESIGN.md §2), and returns a client for it.
 * Where to look: daemon.json (written by the running daemon), then DSTACK_SERVER_HOST/DSTACK_SERVER_PORT or
 * config.yml's `server`. A daemon that answers for another home is never used: its token would not work and
 * its state is someone else's.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_SERVER_PORT } from '../api.js';
import { InternalError, UserError } from '../errors.js';
import { loadOrCreateHomeConfig } from '../home/config-file.js';
import { readDaemonInfo } from '../home/daemon-info.js';
import { resolveHome, type HomePaths } from '../home/paths.js';
import { daemonUrl, serverPortFromEnv } from '../home/server-address.js';
import { spawnDetachedDaemon, type SpawnDaemon } from './auto-start.js';
import { takeEarlyDaemon } from './early-start.js';
import { DaemonClient } from './daemon-client.js';
import { probeHealth, sameHome, type Probe } from './health.js';
import { Transport } from './transport.js';

export interface ConnectOptions {
  env?: NodeJS.ProcessEnv;
  /** Start a daemon when none answers (default true). */
  autoStart?: boolean;
  startTimeoutMs?: number;
  spawnDaemon?: SpawnDaemon;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export function daemonLogFile(paths: HomePaths): string {
  return join(paths.logsDir, 'daemon.log');
}

export async function connectDaemon(opts: ConnectOptions = {}): Promise<DaemonClient> {
  const env = opts.env ?? process.env;
  const paths = resolveHome(env);
  const config = await loadOrCreateHomeConfig(paths.configFile);
  const logFile = daemonLogFile(paths);
  const configured = daemonUrl(env.DSTACK_SERVER_HOST || config.server.host, serverPortFromEnv(env) ?? config.server.port ?? DEFAULT_SERVER_PORT);
  const client = (origin: string, probe: Extract<Probe, { kind: 'daemon' }>) =>
    new DaemonClient(new Transport({ origin, token: config.token, logFile }), probe.health);

  const found = await findDaemon(paths, configured);
  if (found.probe?.kind === 'daemon') return client(found.origin, found.probe);
  if (opts.autoStart === false) {
    throw new UserError('DAEMON_NOT_RUNNING', `No dstack daemon is running for ${paths.home}`, { hint: 'Start it with `dstack server`.' });
  }
  if (found.conflict) throw found.conflict;

  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = now() + (opts.startTimeoutMs ?? 30_000);
  const child = takeEarlyDaemon() ?? (opts.spawnDaemon ?? spawnDetachedDaemon)({ logFile, env });
  let exitedAt: number | undefined;
  void child.exited.then(() => (exitedAt = now()));
  try {
    // A second CLI may have started a daemon at the same moment; ours then exits on the lock while the other
    // comes up, so an early exit only ends the wait after a short grace period.
    while (now() < deadline && (exitedAt === undefined || now() - exitedAt < 10_000)) {
      const again = await findDaemon(paths, configured);
      if (again.probe?.kind === 'daemon') return client(again.origin, again.probe);
      if (again.conflict) throw again.conflict;
      // A refused connection costs well under a millisecond: poll often, the daemon is usually up within ~0.5 s.
      await sleep(50);
    }
  } finally {
    child.release();
  }
  throw new InternalError('DAEMON_START_FAILED', `The dstack daemon did not start for ${paths.home} (${exitedAt === undefined ? 'no answer at ' + configured : 'it exited'})${await logTail(logFile)}`, {
    hint: `See its log: ${logFile}`,
  });
}

async function findDaemon(paths: HomePaths, configured: string): Promise<{ origin: string; probe?: Probe; conflict?: UserError }> {
  const file = await readDaemonInfo(paths.daemonFile);
  const origins = file ? [daemonUrl(file.host, file.port), configured] : [configured];
  let conflict: UserError | undefined;
  for (const origin of new Set(origins)) {
    const probe = await probeHealth(origin);
    if (probe.kind === 'daemon' && sameHome(probe.health.home, paths.home)) return { origin, probe };
    if (origin !== configured) continue;
    if (probe.kind === 'daemon') {
      conflict = new UserError('DAEMON_PORT_IN_USE', `${origin} is a dstack daemon for another home (${probe.health.home})`, {
        hint: 'Set DSTACK_SERVER_PORT to a free port for this DSTACK_HOME.',
      });
    } else if (probe.kind === 'foreign') {
      conflict = new UserError('DAEMON_PORT_IN_USE', `${origin} is used by something that is not a dstack daemon (${probe.detail})`, {
        hint: 'Set DSTACK_SERVER_PORT to a free port.',
      });
    }
  }
  return { origin: configured, ...(conflict ? { conflict } : {}) };
}

async function logTail(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const lines = text.trimEnd().split('\n').slice(-8).join('\n');
  return lines ? `. Last lines of its log:\n${lines}` : '';
}
