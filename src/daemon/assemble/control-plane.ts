/**
 * The control plane's parts, each built once its dependencies exist: backends and host reachability, the reconcile
 * loop, the prober and the autoscaler loop, shared by every project, and each project's scope (project-scopes.ts:
 * its run operations, fleets, secrets and clouds). Nothing is started here; `runDaemon` starts the loops in order.
 */
import { join } from 'node:path';
import type { HomeConfig } from '../../core/home/config-file.js';
import type { HomePaths } from '../../core/home/paths.js';
import { backoffBaseFromEnv, unhealthyGraceFromEnv } from '../../core/reconcile/index.js';
import { defaultStreamIdleMs } from '../../core/runs/stream-idle.js';
import type { StateStore } from '../../core/state/store.js';
import type { FileMirror } from '../../core/state/file-mirror.js';
import { resolveSecrets, type SecretStore } from '../../core/secrets/index.js';
import { CompositeBackend } from '../../backends/composite.js';
import { LocalBackend } from '../../backends/local/index.js';
import { SshBackend, type SshBackendOptions } from '../../backends/ssh/index.js';
import { KnownHosts } from '../../backends/ssh/known-hosts.js';
import { DSTACK_VERSION } from '../../backends/version.js';
import type { RateLimiter } from '../../proxy/routing/rate-limiter.js';
import { MemoryRouteTable } from '../../proxy/routing/route-table.js';
import type { ServiceStats } from '../../proxy/stats/service-stats.js';
import { RunEvents } from '../api/events.js';
import { Reachability } from '../fleets/reachability.js';
import { Prober } from '../probes/prober.js';
import { RouterWorkerSync } from '../runs/router-workers.js';
import type { Lifetime } from '../process/lifetime.js';
import type { Log } from '../process/log.js';
import { Reconciler } from '../reconcile/reconciler.js';
import { AutoscalerLoop } from '../scaling/autoscaler-loop.js';
import { ProjectScopes } from './project-scopes.js';

export interface ControlPlaneSettings {
  /** Reconcile tick (default 1 s). */
  tickMs?: number;
  /** Autoscaler tick (default DSTACK_AUTOSCALER_TICK_MS or 3 s). */
  autoscaleTickMs?: number;
  /** How long a fleet host may stay unreachable before its replicas are replaced elsewhere (default 30 s). */
  hostLossMs?: number;
  /** Where fleet hosts run their agent (default port 10998, `~/.dstack/agent`); tests pick their own. */
  ssh?: Pick<SshBackendOptions, 'agentPort' | 'remoteDir' | 'agentBinary'>;
}

export interface ControlPlaneDeps {
  store: StateStore;
  /** Project secrets (`dstack secret`), resolved into a replica's spec as it starts. */
  secrets: SecretStore;
  home: HomeConfig;
  paths: HomePaths;
  env: NodeJS.ProcessEnv;
  clock: () => number;
  log: Log;
  lifetime: Lifetime;
  /** The data plane's request counters and rate-limit buckets (the autoscaler reads and forgets them). */
  stats: ServiceStats;
  limiter: RateLimiter;
  /** Where the daemon answers, known once it listens (run views show service URLs under it). */
  baseUrl: () => string;
  settings: ControlPlaneSettings;
  /** A shared database's copy of the server files (issue 17); NO_FILE_MIRROR on JSON state. */
  files?: FileMirror;
}

/** Requests per second of a service over the window closest to `windowSeconds` (30, 60 or 300). */
export function rpsOver(stats: ServiceStats, project: string, run: string, windowSeconds: number, now: number): number {
  const snap = stats.snapshot(project, run, now);
  return windowSeconds <= 30 ? snap.rps30 : windowSeconds <= 60 ? snap.rps60 : snap.rps300;
}

export function assembleControlPlane(d: ControlPlaneDeps) {
  const { store, env, clock, log, stats } = d;
  const events = new RunEvents();
  const fleetEvents = new RunEvents();
  const routes = new MemoryRouteTable();
  d.lifetime.add(() => routes.close());
  // Both the SSH backend and the reconcile loop report whether fleet hosts answer; fleet views and the loop listen.
  const reachability = new Reachability({ store, clock, log });
  const local = new LocalBackend({ dir: d.paths.localAgentDir, version: DSTACK_VERSION, env, log });
  const knownHostsPath = join(d.paths.serverDir, 'known_hosts');
  // One known_hosts file, one write queue: SSH hosts by address, cloud VMs by instance id.
  const files = d.files ? { files: { mirror: d.files, home: d.paths.home } } : {};
  const knownHosts = new KnownHosts(knownHostsPath, files.files);
  const onReachability = (instance: string, reachable: boolean, error?: Error) => reachability.set(instance, reachable, error);
  const ssh = new SshBackend({ knownHostsPath, knownHosts, log, clock, env, onReachability, ...files, ...d.settings.ssh });
  const scopes: ProjectScopes = new ProjectScopes({
    store,
    secrets: d.secrets,
    home: d.home,
    paths: d.paths,
    env,
    clock,
    log,
    local,
    ssh,
    cloudOptions: { knownHostsPath, knownHosts, log, env, onReachability, ...files, ...d.settings.ssh },
    reconciler: () => reconciler,
    events,
    fleetEvents,
    // RunView.rps: over the run's scaling window (60 s without `scaling`), as the autoscaler sees it.
    view: {
      get baseUrl() {
        return d.baseUrl();
      },
      rps: (project: string, run: string, windowSeconds = 60) => rpsOver(stats, project, run, windowSeconds, clock()),
      instances: () => store.instances(),
    },
  });
  // The reconcile loop drives every project's replicas: its backend holds every project's clouds.
  const backend = new CompositeBackend(() => [local, ssh, ...scopes.made().flatMap((s) => s.clouds)], (instance) => store.instance(instance)?.backend);
  const reconciler = new Reconciler({
    store,
    archivesDir: d.paths.archivesDir,
    backend,
    routes,
    events,
    log,
    clock,
    tickMs: d.settings.tickMs ?? 1_000,
    backoffBaseMs: backoffBaseFromEnv(env),
    crashLoopLimit: 3,
    readTimeoutMs: defaultStreamIdleMs(env),
    unhealthyGraceMs: unhealthyGraceFromEnv(env),
    usesFleets: (backends, project) => scopes.get(project)?.usesFleets(backends) ?? false,
    defaultProject: d.home.default_project,
    ...(d.settings.hostLossMs !== undefined ? { hostLossMs: d.settings.hostLossMs } : {}),
    onInstanceDisconnect: (instance, e) => {
      reachability.set(instance, false, e);
      for (const s of scopes.made()) s.fleets.checkSoon(instance);
    },
    onInstanceSnapshot: (instance) => reachability.set(instance, true),
    resolveSpec: (run, spec) => resolveSecrets(spec, d.secrets.values(run.project)),
  });
  reachability.subscribe((_instance, fleet) => {
    if (fleet) fleetEvents.notify(fleet);
    reconciler.kick();
  });
  // Every existing project's scope exists before the loop starts: its clouds' instances are reconnected too.
  const main = scopes.get(d.home.default_project)!;
  scopes.all();
  const prober = new Prober({
    runs: () => store.runs(),
    connection: (i) => reconciler.connection(i),
    update: (id, fn) => void reconciler.updateReplica(id, fn),
    clock,
    log,
  });
  const routerWorkers = new RouterWorkerSync({ runs: () => store.runs(), connection: (i) => reconciler.connection(i), log, clock });
  reconciler.onTick(() => prober.tick());
  reconciler.onTick(() => routerWorkers.tick());
  d.lifetime.add(() => routerWorkers.close());
  reconciler.onTick(() => {
    for (const s of scopes.made()) s.fleets.tick();
  });
  d.lifetime.add(() => prober.close());
  const control = main.control;
  const autoscaler = new AutoscalerLoop({
    runs: () => store.runs(),
    load: {
      rps: (project, run, windowSeconds, now) => rpsOver(stats, project, run, windowSeconds, now),
      inFlight: (project, run) => stats.inFlight(project, run),
      forget: (project, run) => {
        stats.forget(project, run);
        d.limiter.forget(`${project}/${run}`);
      },
    },
    // Any project's control plane sets any run's count: the run is found by its project and name.
    setDesired: (project, run, n, group) => control.setDesiredReplicas(project, run, n, group),
    clock,
    tickMs: d.settings.autoscaleTickMs ?? (Number(env.DSTACK_AUTOSCALER_TICK_MS) || 3_000),
    log,
  });
  // After a (re)start every project's fleets resume (projects made later have nothing to resume).
  const fleets = { start: () => Promise.all(scopes.all().map((s) => s.fleets.start())).then(() => undefined) };
  return { events, fleetEvents, routes, backend, reconciler, fleets, prober, control, autoscaler, scopes, secrets: main.secrets };
}

export type ControlPlaneParts = ReturnType<typeof assembleControlPlane>;
