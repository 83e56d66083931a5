/**
 * `dstack server`: the daemon (DESIGN.md §2). One per DSTACK_HOME (lock held for its whole life), state reloaded
 * on start, agents reconnected and their replicas adopted before the first request is served, and on
 * SIGTERM/SIGINT a graceful close that leaves every replica running.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_SERVER_PORT } from '../core/api.js';
import { backoffBaseFromEnv } from '../core/reconcile/index.js';
import { loadOrCreateHomeConfig, type HomeConfig } from '../core/home/config-file.js';
import { resolveHome } from '../core/home/paths.js';
import { createJsonStateStore, loadState } from './state/json-store.js';
import { CompositeBackend } from '../backends/composite.js';
import { LocalBackend } from '../backends/local/index.js';
import { SshBackend, type SshBackendOptions } from '../backends/ssh/index.js';
import { DSTACK_VERSION } from '../backends/version.js';
import { makeAuthenticate } from '../proxy/http/auth.js';
import { createProxyServer } from '../proxy/http/server.js';
import { makeForwarder } from '../proxy/http/forward.js';
import { createModelsHandler } from '../proxy/models/handler.js';
import { fetchTokenizerConfig } from '../proxy/models/hf.js';
import { RateLimiter } from '../proxy/routing/rate-limiter.js';
import { MemoryRouteTable } from '../proxy/routing/route-table.js';
import { ServiceStats } from '../proxy/stats/service-stats.js';
import { createControlApi } from './api/router.js';
import { AutoscalerLoop } from './scaling/autoscaler-loop.js';
import { configLanguage } from './runs/config-language.js';
import { ControlPlane } from './runs/control.js';
import { acquireDaemonLock } from './process/lock.js';
import { removeDaemonInfo, writeDaemonInfo } from './process/daemon-file.js';
import { RunEvents } from './api/events.js';
import { FleetManager, parseFleetConfig } from './fleets/fleets.js';
import { Reachability } from './fleets/reachability.js';
import { createDaemonLogger, type Log } from './process/log.js';
import { createMetricsHandler } from './api/metrics.js';
import { StateModelRegistry } from './runs/model-registry.js';
import { Prober } from './probes/prober.js';
import { Reconciler } from './reconcile/reconciler.js';

export interface DaemonOptions {
  /** DSTACK_HOME; default from the environment (~/.dstack). */
  home?: string;
  host?: string;
  port?: number;
  /** Extra log sink (stderr for `dstack server`); the log file is always written. */
  log?: Log;
  clock?: () => number;
  env?: NodeJS.ProcessEnv;
  /** Reconcile tick (default 1 s). */
  tickMs?: number;
  /** Autoscaler tick (default DSTACK_AUTOSCALER_TICK_MS or 3 s). */
  autoscaleTickMs?: number;
  /** Exit the process when the lock is compromised (default true; tests pass false). */
  exitOnCompromise?: boolean;
  /** How long a fleet host may stay unreachable before its replicas are replaced elsewhere (default 30 s). */
  hostLossMs?: number;
  /** Where fleet hosts run their agent (default port 10998, `~/.dstack/agent`); tests pick their own. */
  ssh?: Pick<SshBackendOptions, 'agentPort' | 'remoteDir' | 'agentBinary'>;
}

export interface Daemon {
  port: number;
  host: string;
  url: string;
  /** In-process hooks for the autoscaler: desired counts (`control.setDesiredReplicas`) and request stats. */
  control: ControlPlane;
  stats: ServiceStats;
  close(): Promise<void>;
}

export async function runDaemon(options: DaemonOptions = {}): Promise<Daemon> {
  const env = options.env ?? process.env;
  const clock = options.clock ?? Date.now;
  const paths = resolveHome(options.home ? { ...env, DSTACK_HOME: options.home } : env);
  await mkdir(paths.serverDir, { recursive: true, mode: 0o700 });
  let home: HomeConfig = await loadOrCreateHomeConfig(paths.configFile);
  // Flag, then env, then config.yml's `server`, then the default.
  const host = options.host ?? (env.DSTACK_SERVER_HOST || home.server.host || '127.0.0.1');
  const envPort = env.DSTACK_SERVER_PORT ? Number(env.DSTACK_SERVER_PORT) : undefined;
  const port = options.port ?? (envPort !== undefined && Number.isInteger(envPort) ? envPort : home.server.port ?? DEFAULT_SERVER_PORT);

  const secrets = () => [home.token, ...home.projects.flatMap((p) => p.tokens)];
  const logger = createDaemonLogger(paths.logsDir, secrets, options.log, clock);
  const log = logger.log;
  const cleanups: (() => Promise<void> | void)[] = [() => logger.close()];
  const closeAll = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch((e) => log(`close: ${(e as Error).message}`));
  };

  try {
    const release = await acquireDaemonLock(paths, (e) => {
      log(`daemon lock compromised (${e.message}); exiting`);
      if (options.exitOnCompromise !== false) process.exit(1);
    });
    cleanups.push(() => release().catch(() => undefined));

    const state = await loadState(paths.stateFile, clock);
    const store = createJsonStateStore(paths.stateFile, state, (e) => log(`state write failed: ${(e as Error).message}`));
    cleanups.push(() => store.flush());
    home = await loadOrCreateHomeConfig(paths.configFile);

    const events = new RunEvents();
    const routes = new MemoryRouteTable();
    cleanups.push(() => routes.close());
    const local = new LocalBackend({ dir: paths.localAgentDir, version: DSTACK_VERSION, env, log });
    const fleetEvents = new RunEvents();
    // Both the SSH backend and the reconcile loop report whether fleet hosts answer; fleet views and the loop listen.
    const reachability = new Reachability({ store, clock, log });
    const ssh = new SshBackend({
      knownHostsPath: join(paths.serverDir, 'known_hosts'),
      log,
      clock,
      env,
      onReachability: (instance, reachable, error) => reachability.set(instance, reachable, error),
      ...options.ssh,
    });
    const backend = new CompositeBackend([local, ssh], (instance) => store.instance(instance)?.backend);
    const startedAt = clock();
    const reconciler = new Reconciler({
      store,
      backend,
      routes,
      events,
      log,
      clock,
      tickMs: options.tickMs ?? 1_000,
      backoffBaseMs: backoffBaseFromEnv(env),
      crashLoopLimit: 3,
      readTimeoutMs: Number(env.DSTACK_SERVICE_CLIENT_TIMEOUT ?? 60) * 1000,
      afterTick: () => prober.tick(),
      usesFleets: (backends) => backend.usesFleets(backends),
      ...(options.hostLossMs !== undefined ? { hostLossMs: options.hostLossMs } : {}),
      onInstanceDisconnect: (instance, e) => reachability.set(instance, false, e),
      onInstanceSnapshot: (instance) => reachability.set(instance, true),
    });
    reachability.subscribe((_instance, fleet) => {
      if (fleet) fleetEvents.notify(fleet);
      reconciler.kick();
    });
    const fleets = new FleetManager({
      store,
      ssh,
      events: fleetEvents,
      parseFleet: parseFleetConfig,
      project: home.default_project,
      clock,
      log,
      onCapacity: () => reconciler.kick(),
      onInstanceRemoved: (instance) => reconciler.forgetInstance(instance),
      ...(env.HOME ? { homeDir: env.HOME } : {}),
    });
    // Fleet hosts are known to the SSH backend before the reconciler reconnects to their agents.
    fleets.start();
    const prober = new Prober({
      runs: () => store.runs(),
      connection: (i) => reconciler.connection(i),
      update: (id, fn) => void reconciler.updateReplica(id, fn),
      clock,
    });
    cleanups.push(() => prober.close());

    const stats = new ServiceStats({ clock });
    const listenHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    const rpsOver = (project: string, run: string, windowSeconds: number, now: number): number => {
      const snap = stats.snapshot(project, run, now);
      return windowSeconds <= 30 ? snap.rps30 : windowSeconds <= 60 ? snap.rps60 : snap.rps300;
    };
    // RunView.rps: over the run's scaling window (60 s without `scaling`), as the autoscaler sees it.
    const view = {
      baseUrl: '',
      rps: (project: string, run: string, windowSeconds = 60) => rpsOver(project, run, windowSeconds, clock()),
      instances: () => store.instances(),
    };
    const language = configLanguage();
    const control = new ControlPlane({
      store,
      backend,
      reconciler,
      events,
      view,
      project: home.default_project,
      user: home.user,
      clock,
      env,
      usesFleets: (backends) => backend.usesFleets(backends),
      ...language,
      resolveTokenizer: (model, hfToken) => fetchTokenizerConfig(model, { hfToken }),
    });
    const authenticate = makeAuthenticate(
      () => new Map(home.projects.map((p) => [p.name, [home.token, ...p.tokens]])),
    );
    // Scale from zero at once on the first held request (DESIGN.md §4); the autoscaler takes it from there.
    const onColdStart = (project: string, run: string): void => {
      const r = store.runs().find((x) => x.project === project && x.name === run && x.desiredReplicas === 0);
      if (r) control.setDesiredReplicas(project, run, 1);
    };
    const limiter = new RateLimiter();
    const server = createProxyServer({
      routes,
      authenticate,
      stats,
      limiter,
      clock,
      log: (line: string) => log(line),
      controlApi: createControlApi({
        control,
        events,
        fleets: { manager: fleets, events: fleetEvents },
        adminToken: () => home.token,
        metrics: createMetricsHandler({ runs: () => store.runs(), stats, clock }),
        health: () => ({ version: DSTACK_VERSION, pid: process.pid, uptimeSeconds: (clock() - startedAt) / 1000, home: paths.home }),
        log,
        saved: () => store.flush(),
      }),
      onColdStart,
      modelsApi: createModelsHandler({
        registry: new StateModelRegistry(() => store.runs()),
        // The model endpoint counts its requests and scales from zero like the service proxy.
        forward: makeForwarder(routes, { stats, clock, onColdStart }),
        authenticate,
      }),
    });
    const autoscaler = new AutoscalerLoop({
      runs: () => store.runs(),
      load: {
        rps: rpsOver,
        inFlight: (project, run) => stats.inFlight(project, run),
        forget: (project, run) => {
          stats.forget(project, run);
          limiter.forget(`${project}/${run}`);
        },
      },
      setDesired: (project, run, n, group) => control.setDesiredReplicas(project, run, n, group),
      clock,
      tickMs: options.autoscaleTickMs ?? (Number(env.DSTACK_AUTOSCALER_TICK_MS) || 3_000),
      log,
    });

    // Adopt before serving: the first proxied request after a restart already finds its replicas.
    const stopReconciler = await reconciler.start();
    cleanups.push(stopReconciler);
    cleanups.push(autoscaler.start());
    const bound = await server.listen(port, host);
    cleanups.push(() => server.close());
    view.baseUrl = `http://${listenHost.includes(':') ? `[${listenHost}]` : listenHost}:${bound.port}`;
    await writeDaemonInfo(paths.daemonFile, { pid: process.pid, port: bound.port, host, startedAt, version: DSTACK_VERSION });
    cleanups.push(() => removeDaemonInfo(paths.daemonFile, process.pid));
    log(`dstack server ${DSTACK_VERSION} listening on ${view.baseUrl} (home ${paths.home})`);

    let closing: Promise<void> | undefined;
    return {
      port: bound.port,
      host,
      url: view.baseUrl,
      control,
      stats,
      close: () => (closing ??= (async () => {
        log('dstack server stopping (replicas keep running)');
        await closeAll();
      })()),
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
