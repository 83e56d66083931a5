/**
 * The control plane's parts, each built once its dependencies exist (nothing late-bound): backends and host
 * reachability, the reconcile loop, fleets, the prober, the control operations and the autoscaler loop. Nothing is
 * started here; `runDaemon` starts the loops in order.
 */
import { join } from 'node:path';
import type { HomeConfig } from '../../core/home/config-file.js';
import type { HomePaths } from '../../core/home/paths.js';
import { backoffBaseFromEnv, unhealthyGraceFromEnv } from '../../core/reconcile/index.js';
import { defaultStreamIdleMs } from '../../core/runs/stream-idle.js';
import type { StateStore } from '../../core/state/store.js';
import { resolveSecrets, type SecretStore } from '../../core/secrets/index.js';
import { catalogInfo } from '../../core/catalog/answer.js';
import { catalogOffers } from '../../core/catalog/offers.js';
import type { BackendConfig } from '../../core/home/backends-config.js';
import { AwsCompute } from '../../backends/aws/index.js';
import { GcpCompute } from '../../backends/gcp/index.js';
import { CatalogService } from '../../backends/catalog/service.js';
import { CloudBackend } from '../../backends/cloud/index.js';
import { CompositeBackend } from '../../backends/composite.js';
import { LocalBackend } from '../../backends/local/index.js';
import { SshBackend, type SshBackendOptions } from '../../backends/ssh/index.js';
import { KnownHosts } from '../../backends/ssh/known-hosts.js';
import { DSTACK_VERSION } from '../../backends/version.js';
import { fetchTokenizerConfig } from '../../proxy/models/hf.js';
import type { RateLimiter } from '../../proxy/routing/rate-limiter.js';
import { MemoryRouteTable } from '../../proxy/routing/route-table.js';
import type { ServiceStats } from '../../proxy/stats/service-stats.js';
import { RunEvents } from '../api/events.js';
import { FleetManager, parseFleetConfig } from '../fleets/fleets.js';
import { Reachability } from '../fleets/reachability.js';
import { Prober } from '../probes/prober.js';
import { RouterWorkerSync } from '../runs/router-workers.js';
import type { Lifetime } from '../process/lifetime.js';
import type { Log } from '../process/log.js';
import { Reconciler } from '../reconcile/reconciler.js';
import { configLanguage } from '../runs/config-language.js';
import { ControlPlane } from '../runs/control.js';
import { SecretsControl } from '../secrets/control.js';
import { AutoscalerLoop } from '../scaling/autoscaler-loop.js';

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
  const project = d.home.default_project;
  const knownHostsPath = join(d.paths.serverDir, 'known_hosts');
  // One known_hosts file, one write queue: SSH hosts by address, cloud VMs by instance id.
  const knownHosts = new KnownHosts(knownHostsPath);
  const onReachability = (instance: string, reachable: boolean, error?: Error) => reachability.set(instance, reachable, error);
  const ssh = new SshBackend({ knownHostsPath, knownHosts, log, clock, env, onReachability, ...d.settings.ssh });
  const configured = d.home.projects.find((p) => p.name === project)?.backends ?? [];
  // Cloud offers come from catalogs (shipped, or refreshed under serverDir/catalog) and need no credentials.
  const catalog = new CatalogService({ serverDir: d.paths.serverDir, backends: configured, project, env, clock });
  const cloudOf = (config: BackendConfig, backendIndex: number) =>
    new CloudBackend({
      compute: config.type === 'gcp' ? new GcpCompute({ config, project, env, backendIndex, loadCatalog: () => catalog.load(config.type), catalogOffers }) : new AwsCompute({ config, project, env, backendIndex, loadCatalog: () => catalog.load(config.type), catalogOffers }),
      ...{ knownHostsPath, knownHosts, log, env, onReachability, ...d.settings.ssh },
    });
  const clouds = configured.map(cloudOf);
  const backend = new CompositeBackend([local, ssh, ...clouds], (instance) => store.instance(instance)?.backend);
  // A cloud fleet takes runs before it has any instance: it creates them for the replicas that wait.
  const usesFleets = (backends: readonly string[] | undefined) =>
    backend.usesFleets(backends) || (fleets.cloudFleets().length > 0 && !(backends !== undefined && backends.length > 0 && backends.every((b) => b === 'local')));
  const reconciler = new Reconciler({
    store,
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
    usesFleets,
    ...(d.settings.hostLossMs !== undefined ? { hostLossMs: d.settings.hostLossMs } : {}),
    onInstanceDisconnect: (instance, e) => {
      reachability.set(instance, false, e);
      fleets.checkSoon(instance);
    },
    onInstanceSnapshot: (instance) => reachability.set(instance, true),
    resolveSpec: (run, spec) => resolveSecrets(spec, d.secrets.values(run.project)),
  });
  reachability.subscribe((_instance, fleet) => {
    if (fleet) fleetEvents.notify(fleet);
    reconciler.kick();
  });
  const fleets = new FleetManager({
    store,
    ssh,
    clouds,
    configFile: d.paths.configFile,
    catalogInfo: async (provider) => catalogInfo(await catalog.load(provider)),
    events: fleetEvents,
    parseFleet: parseFleetConfig,
    project,
    clock,
    log,
    onCapacity: () => reconciler.kick(),
    onInstanceRemoved: (instance, why) => reconciler.forgetInstance(instance, why),
    ...(env.HOME ? { homeDir: env.HOME } : {}),
  });
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
  reconciler.onTick(() => fleets.tick());
  d.lifetime.add(() => prober.close());
  const control = new ControlPlane({
    store,
    backend,
    catalog,
    reconciler,
    events,
    // RunView.rps: over the run's scaling window (60 s without `scaling`), as the autoscaler sees it.
    view: {
      get baseUrl() {
        return d.baseUrl();
      },
      rps: (project: string, run: string, windowSeconds = 60) => rpsOver(stats, project, run, windowSeconds, clock()),
      instances: () => store.instances(),
    },
    project: d.home.default_project,
    user: d.home.user,
    clock,
    env,
    usesFleets,
    cloudFleets: () => fleets.cloudFleets(),
    secrets: () => d.secrets.values(d.home.default_project),
    ...configLanguage(),
    resolveTokenizer: (model, hfToken) => fetchTokenizerConfig(model, { hfToken }),
  });
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
    setDesired: (project, run, n, group) => control.setDesiredReplicas(project, run, n, group),
    clock,
    tickMs: d.settings.autoscaleTickMs ?? (Number(env.DSTACK_AUTOSCALER_TICK_MS) || 3_000),
    log,
  });
  const secrets = new SecretsControl({ store: d.secrets, project: d.home.default_project });
  return { events, fleetEvents, routes, backend, reconciler, fleets, prober, control, autoscaler, catalog, secrets };
}

export type ControlPlaneParts = ReturnType<typeof assembleControlPlane>;
