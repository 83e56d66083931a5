/**
 * `dstack server`: the daemon (DESIGN.md §2). One per DSTACK_HOME (lock held for its whole life), state reloaded
 * on start, agents reconnected and their replicas adopted before the first request is served, and on
 * SIGTERM/SIGINT a graceful close that leaves every replica running. On a shared PostgreSQL database one server
 * leads (this path) and the others stand by, relaying to it until they take over (ha/shared-database.ts).
 */
import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SERVER_PORT } from '../core/api.js';
import { loadOrCreateHomeConfig, localServerConfig, proxyWorkerCount, type HomeConfig } from '../core/home/config-file.js';
import { selfArgv } from '../core/client/auto-start.js';
import { ROLES } from '../core/client/roles.js';
import { resolveHome, type HomePaths } from '../core/home/paths.js';
import { daemonUrl, serverPortFromEnv } from '../core/home/server-address.js';
import { databasePassword, databaseSetting } from '../core/home/database-url.js';
import { NO_FILE_MIRROR, type FileMirror } from '../core/state/file-mirror.js';
import type { Exposure } from '../core/home/server-exposure.js';
import { DSTACK_VERSION } from '../backends/version.js';
import { RateLimiter } from '../proxy/routing/rate-limiter.js';
import { ServiceStats } from '../proxy/stats/service-stats.js';
import { assembleControlPlane, type ControlPlaneSettings } from './assemble/control-plane.js';
import { assembleDataPlane, makeOnColdStart } from './assemble/data-plane.js';
import { allAcceptedDigests } from './assemble/proxy-tokens.js';
import { ensureAccounts } from './accounts/bootstrap.js';
import { startProxyWorkers, type ProxyWorkers } from './assemble/proxy-workers.js';
import type { SwitchListener } from './ha/listener.js';
import { runOnDatabase } from './ha/shared-database.js';
import { StateModelRegistry } from './runs/model-registry.js';
import { removeDaemonInfo, writeDaemonInfo } from './process/daemon-file.js';
import { Lifetime } from './process/lifetime.js';
import { acquireDaemonLock } from './process/lock.js';
import { createDaemonLogger, type Log } from './process/log.js';
import type { ControlPlane } from './runs/control.js';
import { openState } from './state/open.js';
import type { Fence } from './state/pg/fence.js';
import type { LeadershipOptions } from './state/pg/leadership.js';
import { secretValuesOf } from './runs/redact.js';
import { loadTlsCredentials, resolveExposure, type TlsCredentials, type TlsFlags } from './process/tls.js';
import { createTlsFront } from '../proxy/http/tls-front.js';

export interface DaemonOptions extends ControlPlaneSettings, TlsFlags {
  /** DSTACK_HOME; default from the environment (~/.dstack). */
  home?: string;
  host?: string;
  port?: number;
  /** Where the other servers of a shared database reach this one (default: flag, env DSTACK_SERVER_ADVERTISE_URL, config.yml `server.advertise_url`, then host:port). */
  advertiseUrl?: string;
  /** Lease timings on a shared database (tests shorten them). */
  leadership?: Pick<LeadershipOptions, 'ttlMs' | 'renewMs' | 'pollMs'>;
  /** Extra log sink (stderr for `dstack server`); the log file is always written. */
  log?: Log;
  clock?: () => number;
  env?: NodeJS.ProcessEnv;
  /** Exit the process when the lock is compromised (default true; tests pass false). */
  exitOnCompromise?: boolean;
  /** Data-plane processes (default: env DSTACK_PROXY_WORKERS, then config.yml `server.proxy_workers`, then 1). */
  proxyWorkers?: number;
  /** What follows process.execPath to start a proxy worker (default: this CLI entry's hidden role). */
  proxyWorkerArgv?: string[];
}

export interface Daemon {
  port: number;
  host: string;
  url: string;
  /** In-process hooks for the autoscaler: desired counts (`control.setDesiredReplicas`) and request stats. */
  control: ControlPlane;
  stats: ServiceStats;
  /** Set when the data plane runs in worker processes (`proxy_workers` ≥ 2). */
  proxyWorkers?: Pick<ProxyWorkers, 'pids' | 'requests'>;
  /** `standby` while another server leads the shared database; `control` and `stats` exist once leading. */
  role(): 'leader' | 'standby';
  /** Resolves when this server leads (at once without a shared database); rejects if it closed first. */
  leading: Promise<void>;
  close(): Promise<void>;
}

/** What runDaemon resolved before the state opens; the shared-database path uses it to start leading later. */
export interface StartContext {
  options: DaemonOptions;
  env: NodeJS.ProcessEnv;
  clock: () => number;
  paths: HomePaths;
  home: HomeConfig;
  host: string;
  port: number;
  exposure: Exposure;
  tls: TlsCredentials | undefined;
  log: Log;
  lifetime: Lifetime;
  /** Values the log redacts once state is loaded (project secrets, run env secrets). */
  runSecrets: () => string[];
  /** The state was taken by another server: exit, as on losing the home lock. */
  onLockLost: (e: Error) => void;
}

/** How this server leads: on its own listener, or on the standby's it already has (a takeover). */
export interface LeadOptions {
  fence?: Fence;
  listener?: SwitchListener;
  /** Called when the data plane takes the listener's connections. */
  onServing?: () => void;
  files: FileMirror;
  /** The shared database's leader (health answers `role: leader`). */
  advertiseUrl?: string;
  /** The lease's key that vouches for a standby's relayed client addresses (proxy/http/relayed-client.ts). */
  relayKey?: string;
}

export interface Leading {
  port: number;
  url: string;
  control: ControlPlane;
  stats: ServiceStats;
  workers?: ProxyWorkers;
}

export async function runDaemon(options: DaemonOptions = {}): Promise<Daemon> {
  const env = options.env ?? process.env;
  const clock = options.clock ?? Date.now;
  const paths = resolveHome(options.home ? { ...env, DSTACK_HOME: options.home } : env);
  await mkdir(paths.serverDir, { recursive: true, mode: 0o700 });
  const home: HomeConfig = localServerConfig(await loadOrCreateHomeConfig(paths.configFile));
  // Flag, then env, then config.yml's `server`, then the default.
  const host = options.host ?? (env.DSTACK_SERVER_HOST || home.server.host || '127.0.0.1');
  const port = options.port ?? serverPortFromEnv(env) ?? home.server.port ?? DEFAULT_SERVER_PORT;
  // Before the lock and the state: a refused exposure or a broken PEM must not start anything.
  const exposure = resolveExposure(host, options, env, home.server, paths.home);
  const tls = exposure.scheme === 'https' ? await loadTlsCredentials(exposure.tls) : undefined;

  // Project secrets and the env values runs got from their callers join the tokens once they are loaded.
  const dbPassword = (): string[] => {
    const url = env.DSTACK_DATABASE_URL || c.home.server.database;
    const password = url ? databasePassword(url) : undefined;
    return password ? [password] : [];
  };
  const secrets = () => [c.home.token, ...c.home.projects.flatMap((p) => p.tokens), ...dbPassword(), ...c.runSecrets()];
  const logger = createDaemonLogger(paths.logsDir, secrets, options.log, clock);
  const log = logger.log;
  const lifetime = new Lifetime(log);
  lifetime.add(() => logger.close());
  const c: StartContext = {
    options,
    env,
    clock,
    paths,
    home,
    host,
    port,
    exposure,
    tls,
    log,
    lifetime,
    runSecrets: () => [],
    onLockLost: (e) => {
      log(`database lock lost (${e.message}); exiting`);
      if (options.exitOnCompromise !== false) process.exit(1);
    },
  };

  try {
    const release = await acquireDaemonLock(paths, (e) => {
      log(`daemon lock compromised (${e.message}); exiting`);
      if (options.exitOnCompromise !== false) process.exit(1);
    });
    lifetime.add(() => release().catch(() => undefined));
    const database = databaseSetting(env, home.server.database);
    if (database) return await runOnDatabase(c, database.url, lead);
    const led = await lead(c, { files: NO_FILE_MIRROR });
    let stopping = false;
    return {
      port: led.port,
      host,
      url: led.url,
      control: led.control,
      stats: led.stats,
      ...(led.workers ? { proxyWorkers: led.workers } : {}),
      role: () => 'leader',
      leading: Promise.resolve(),
      close: () => {
        if (!stopping) log('dstack server stopping (replicas keep running)');
        stopping = true;
        return lifetime.close();
      },
    };
  } catch (e) {
    await lifetime.close();
    throw e;
  }
}

/** Today's daemon: state loaded, planes assembled, serving, reconciling and autoscaling. */
export async function lead(c: StartContext, l: LeadOptions): Promise<Leading> {
  const { options, env, clock, paths, host, port, exposure, tls, log, lifetime } = c;
  const { store, secrets: secretStore, where } = await openState({
    paths,
    env,
    configured: c.home.server.database,
    clock,
    log,
    lifetime,
    onLockLost: c.onLockLost,
    ...(l.fence ? { fence: l.fence } : {}),
  });
  c.runSecrets = () => [...secretStore.allValues(), ...store.runs().flatMap(secretValuesOf)];
  c.home = localServerConfig(await loadOrCreateHomeConfig(paths.configFile));
  const home = () => c.home;
  ensureAccounts(store, c.home, clock);

  const startedAt = clock();
  const stats = new ServiceStats({ clock });
  const limiter = new RateLimiter();
  let url = '';
  const plane = assembleControlPlane({ store, secrets: secretStore, home: c.home, paths, env, clock, log, lifetime, stats, limiter, baseUrl: () => url, settings: options, files: l.files });
  const server = assembleDataPlane({
    plane,
    store,
    home,
    homeDir: paths.home,
    stats,
    limiter,
    clock,
    log,
    startedAt,
    lifetime,
    files: l.files,
    ...(l.advertiseUrl !== undefined ? { leaderUrl: l.advertiseUrl } : {}),
    ...(l.relayKey ? { relayKey: l.relayKey } : {}),
  });

  // Fleet hosts are known to the SSH backend before the reconciler reconnects to their agents.
  // Cloud instances resume after a sweep of what a crash left tagged in the cloud (in the background).
  void plane.fleets.start().catch((e: unknown) => log(`fleets: resuming failed: ${(e as Error).message}`));
  // Restart to serving (issue 15): the daemon listens before its agents are reconnected. Services that served
  // before hold their requests meanwhile (routes `warming`) instead of answering 503, and get them once adopted.
  plane.reconciler.warmRoutes();
  // The listener(s) close first on a normal close (registered again below), and still close if starting fails.
  const serving = new Lifetime(log);
  lifetime.add(() => serving.close());
  if (exposure.scheme === 'http' && exposure.insecure) {
    log(`WARNING: serving plain HTTP on ${host} (--insecure-http): tokens and traffic cross the network unencrypted; pass --tls-cert/--tls-key to serve HTTPS`);
  }
  const workerCount = options.proxyWorkers ?? proxyWorkerCount(env.DSTACK_PROXY_WORKERS, c.home.server.proxy_workers, availableParallelism());
  // A standby's listener already decrypts (it is a TLS front when TLS is configured).
  const front = tls && !(l.listener && workerCount <= 1) ? createTlsFront(tls, (socket) => server.accept(socket)) : undefined;
  let workers: ProxyWorkers | undefined;
  let bound: { port: number };
  if (workerCount <= 1) {
    if (l.listener) {
      l.listener.serve((socket) => server.accept(socket));
      l.onServing?.();
      bound = { port: l.listener.port };
    } else bound = front ? await front.listen(port, host) : await server.listen(port, host);
    serving.add(() => server.close());
    if (front) serving.add(() => front.close());
    const listener = l.listener;
    if (listener) serving.add(() => listener.close());
  } else {
    serving.add(() => server.close());
    if (front) serving.add(() => front.close());
    // Workers share a listener of their own: the standby's port is given back and taken again at once.
    const onPort = l.listener ? l.listener.port : port;
    if (l.listener) await l.listener.close();
    const registry = new StateModelRegistry(() => store.runs());
    workers = await startProxyWorkers({
      count: workerCount,
      port: onPort,
      host,
      socketPath: join(paths.serverDir, 'proxy.sock'),
      argv: options.proxyWorkerArgv ?? selfArgv(ROLES.proxyWorker, process.execArgv),
      env,
      plane: server,
      routes: plane.routes,
      digests: allAcceptedDigests(home, store),
      models: () => plane.scopes.all().flatMap((s) => registry.list(s.project)),
      stats,
      onColdStart: makeOnColdStart(plane, store),
      hold: {},
      ...(l.relayKey ? { relayKey: l.relayKey } : {}),
      ...(front && tls ? { tls: { front, pem: { cert: tls.cert.toString('utf8'), key: tls.key.toString('utf8') } } } : {}),
      log,
    });
    l.onServing?.();
    serving.add(() => workers?.close());
    bound = { port: workers.port };
  }
  url = daemonUrl(host, bound.port, exposure.scheme);
  const scheme = tls ? { scheme: 'https' as const, tlsCert: tls.certFile } : {};
  await writeDaemonInfo(paths.daemonFile, { pid: process.pid, port: bound.port, host, ...scheme, startedAt, version: DSTACK_VERSION });
  lifetime.add(() => removeDaemonInfo(paths.daemonFile, process.pid));
  lifetime.add(await plane.reconciler.start());
  lifetime.add(plane.autoscaler.start());
  lifetime.add(() => serving.close());
  log(`dstack server ${DSTACK_VERSION} listening on ${url} (home ${paths.home}, state in ${where}${l.advertiseUrl ? `, leading as ${l.advertiseUrl}` : ''})`);
  return { port: bound.port, url, control: plane.control, stats, ...(workers ? { workers } : {}) };
}
