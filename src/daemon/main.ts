/**
 * `dstack server`: the daemon (DESIGN.md §2). One per DSTACK_HOME (lock held for its whole life), state reloaded
 * on start, agents reconnected and their replicas adopted before the first request is served, and on
 * SIGTERM/SIGINT a graceful close that leaves every replica running.
 */
import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SERVER_PORT } from '../core/api.js';
import { loadOrCreateHomeConfig, localServerConfig, proxyWorkerCount, type HomeConfig } from '../core/home/config-file.js';
import { selfArgv } from '../core/client/auto-start.js';
import { ROLES } from '../core/client/roles.js';
import { resolveHome } from '../core/home/paths.js';
import { daemonUrl, serverPortFromEnv } from '../core/home/server-address.js';
import { databasePassword } from '../core/home/database-url.js';
import { DSTACK_VERSION } from '../backends/version.js';
import { RateLimiter } from '../proxy/routing/rate-limiter.js';
import { ServiceStats } from '../proxy/stats/service-stats.js';
import { assembleControlPlane, type ControlPlaneSettings } from './assemble/control-plane.js';
import { assembleDataPlane, makeOnColdStart } from './assemble/data-plane.js';
import { allAcceptedDigests } from './assemble/proxy-tokens.js';
import { ensureAccounts } from './accounts/bootstrap.js';
import { startProxyWorkers, type ProxyWorkers } from './assemble/proxy-workers.js';
import { StateModelRegistry } from './runs/model-registry.js';
import { removeDaemonInfo, writeDaemonInfo } from './process/daemon-file.js';
import { Lifetime } from './process/lifetime.js';
import { acquireDaemonLock } from './process/lock.js';
import { createDaemonLogger, type Log } from './process/log.js';
import type { ControlPlane } from './runs/control.js';
import { openState } from './state/open.js';
import { secretValuesOf } from './runs/redact.js';
import { loadTlsCredentials, resolveExposure, type TlsFlags } from './process/tls.js';
import { createTlsFront } from '../proxy/http/tls-front.js';

export interface DaemonOptions extends ControlPlaneSettings, TlsFlags {
  /** DSTACK_HOME; default from the environment (~/.dstack). */
  home?: string;
  host?: string;
  port?: number;
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
  close(): Promise<void>;
}

export async function runDaemon(options: DaemonOptions = {}): Promise<Daemon> {
  const env = options.env ?? process.env;
  const clock = options.clock ?? Date.now;
  const paths = resolveHome(options.home ? { ...env, DSTACK_HOME: options.home } : env);
  await mkdir(paths.serverDir, { recursive: true, mode: 0o700 });
  let home: HomeConfig = localServerConfig(await loadOrCreateHomeConfig(paths.configFile));
  // Flag, then env, then config.yml's `server`, then the default.
  const host = options.host ?? (env.DSTACK_SERVER_HOST || home.server.host || '127.0.0.1');
  const port = options.port ?? serverPortFromEnv(env) ?? home.server.port ?? DEFAULT_SERVER_PORT;
  // Before the lock and the state: a refused exposure or a broken PEM must not start anything.
  const exposure = resolveExposure(host, options, env, home.server, paths.home);
  const tls = exposure.scheme === 'https' ? await loadTlsCredentials(exposure.tls) : undefined;

  // Project secrets and the env values runs got from their callers join the tokens once they are loaded.
  let runSecrets: () => string[] = () => [];
  const dbPassword = (): string[] => {
    const url = env.DSTACK_DATABASE_URL || home.server.database;
    const password = url ? databasePassword(url) : undefined;
    return password ? [password] : [];
  };
  const secrets = () => [home.token, ...home.projects.flatMap((p) => p.tokens), ...dbPassword(), ...runSecrets()];
  const logger = createDaemonLogger(paths.logsDir, secrets, options.log, clock);
  const log = logger.log;
  const lifetime = new Lifetime(log);
  lifetime.add(() => logger.close());

  try {
    const release = await acquireDaemonLock(paths, (e) => {
      log(`daemon lock compromised (${e.message}); exiting`);
      if (options.exitOnCompromise !== false) process.exit(1);
    });
    lifetime.add(() => release().catch(() => undefined));
    const onLockLost = (e: Error) => {
      log(`database lock lost (${e.message}); exiting`);
      if (options.exitOnCompromise !== false) process.exit(1);
    };
    const { store, secrets: secretStore, where } = await openState({ paths, env, configured: home.server.database, clock, log, lifetime, onLockLost });
    runSecrets = () => [...secretStore.allValues(), ...store.runs().flatMap(secretValuesOf)];
    home = localServerConfig(await loadOrCreateHomeConfig(paths.configFile));
    ensureAccounts(store, home, clock);

    const startedAt = clock();
    const stats = new ServiceStats({ clock });
    const limiter = new RateLimiter();
    let url = '';
    const plane = assembleControlPlane({ store, secrets: secretStore, home, paths, env, clock, log, lifetime, stats, limiter, baseUrl: () => url, settings: options });
    const server = assembleDataPlane({ plane, store, home: () => home, homeDir: paths.home, stats, limiter, clock, log, startedAt, lifetime });

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
    const front = tls ? createTlsFront(tls, (socket) => server.accept(socket)) : undefined;
    const workerCount = options.proxyWorkers ?? proxyWorkerCount(env.DSTACK_PROXY_WORKERS, home.server.proxy_workers, availableParallelism());
    let workers: ProxyWorkers | undefined;
    let bound: { port: number };
    if (workerCount <= 1) {
      bound = front ? await front.listen(port, host) : await server.listen(port, host);
      serving.add(() => server.close());
      if (front) serving.add(() => front.close());
    } else {
      serving.add(() => server.close());
      if (front) serving.add(() => front.close());
      const registry = new StateModelRegistry(() => store.runs());
      workers = await startProxyWorkers({
        count: workerCount,
        port,
        host,
        socketPath: join(paths.serverDir, 'proxy.sock'),
        argv: options.proxyWorkerArgv ?? selfArgv(ROLES.proxyWorker, process.execArgv),
        env,
        plane: server,
        routes: plane.routes,
        digests: allAcceptedDigests(() => home, store),
        models: () => plane.scopes.all().flatMap((s) => registry.list(s.project)),
        stats,
        onColdStart: makeOnColdStart(plane, store),
        hold: {},
        ...(front && tls ? { tls: { front, pem: { cert: tls.cert.toString('utf8'), key: tls.key.toString('utf8') } } } : {}),
        log,
      });
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
    log(`dstack server ${DSTACK_VERSION} listening on ${url} (home ${paths.home}, state in ${where})`);

    let stopping = false;
    return {
      port: bound.port,
      host,
      url,
      control: plane.control,
      stats,
      ...(workers ? { proxyWorkers: workers } : {}),
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
