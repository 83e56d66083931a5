/**
 * Finds the daemon of this DSTACK_HOME, or starts one (DESIGN.md §2), and returns a client for it.
 * Where to look: daemon.json (written by the running daemon), then DSTACK_SERVER_HOST/DSTACK_SERVER_PORT or
 * config.yml's `server`. A daemon that answers for another home is never used: its token would not work and
 * its state is someone else's.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
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
import { projectTarget } from './project-target.js';
import { connectRemote } from './remote.js';
import { pinnedTrust, type DaemonTls } from './tls-trust.js';
import { Transport } from './transport.js';

export interface ConnectOptions {
  env?: NodeJS.ProcessEnv;
  /** The project (`--project`); default env DSTACK_PROJECT, then config.yml's `default_project` (project-target.ts). */
  project?: string;
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
  // Cached as JSON beside config.yml: the YAML parser is most of what `dstack ps` would load (issue 15).
  const config = await loadOrCreateHomeConfig(paths.configFile, { cache: true });
  const target = projectTarget(config, opts.project ?? env.DSTACK_PROJECT);
  // A project on another server never starts (or even looks for) the local daemon.
  if (target.kind === 'remote') return connectRemote(target);
  const logFile = daemonLogFile(paths);
  // A daemon configured for TLS (env or config.yml, as `dstack server` reads them) is looked for over https.
  const certFile = env.DSTACK_SERVER_TLS_CERT ? resolve(env.DSTACK_SERVER_TLS_CERT) : config.server.tls_cert ? resolve(paths.home, config.server.tls_cert) : undefined;
  const configured: Endpoint = {
    origin: daemonUrl(env.DSTACK_SERVER_HOST || config.server.host, serverPortFromEnv(env) ?? config.server.port ?? DEFAULT_SERVER_PORT, certFile ? 'https' : 'http'),
    ...(certFile ? { certFile } : {}),
  };
  const client = (found: Found) => new DaemonClient(new Transport({ origin: found.origin, token: config.token, logFile, ...(found.tls ? { tls: found.tls } : {}) }), found.probe.health, target.project);

  const found = await findDaemon(paths, configured);
  if (isFound(found)) return client(found);
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
      if (isFound(again)) return client(again);
      if (again.conflict) throw again.conflict;
      // A refused connection costs well under a millisecond: poll often, the daemon is usually up within ~0.5 s.
      await sleep(50);
    }
  } finally {
    child.release();
  }
  throw new InternalError('DAEMON_START_FAILED', `The dstack daemon did not start for ${paths.home} (${exitedAt === undefined ? 'no answer at ' + configured.origin : 'it exited'})${await logTail(logFile)}`, {
    hint: `See its log: ${logFile}`,
  });
}

/** Where a daemon may answer; `certFile`: the certificate an https daemon serves, trusted exactly (tls-trust.ts). */
interface Endpoint {
  origin: string;
  certFile?: string;
}

interface Found {
  origin: string;
  tls?: DaemonTls;
  probe: Extract<Probe, { kind: 'daemon' }>;
}

type Search = Found | { origin: string; probe?: Probe; conflict?: UserError };

const isFound = (s: Search): s is Found => s.probe?.kind === 'daemon';

async function findDaemon(paths: HomePaths, configured: Endpoint): Promise<Search> {
  const file = await readDaemonInfo(paths.daemonFile);
  const fromFile: Endpoint | undefined = file && { origin: daemonUrl(file.host, file.port, file.scheme), ...(file.tlsCert ? { certFile: file.tlsCert } : {}) };
  const endpoints = fromFile && fromFile.origin !== configured.origin ? [fromFile, configured] : [fromFile ?? configured];
  let conflict: UserError | undefined;
  for (const endpoint of endpoints) {
    const origin = endpoint.origin;
    const tls = endpoint.certFile ? await pinnedTrust(endpoint.certFile) : undefined;
    const probe = await probeHealth(origin, undefined, tls);
    if (probe.kind === 'daemon' && sameHome(probe.health.home, paths.home)) return { origin, probe, ...(tls ? { tls } : {}) };
    if (origin !== configured.origin) continue;
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
  return { origin: configured.origin, ...(conflict ? { conflict } : {}) };
}

async function logTail(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const lines = text.trimEnd().split('\n').slice(-8).join('\n');
  return lines ? `. Last lines of its log:\n${lines}` : '';
}
