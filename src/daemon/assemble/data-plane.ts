/**
 * The data plane over the control plane's parts: one listener serving the control API, the service proxy and the
 * model endpoint, with the same token check, counters and cold-start hook for both kinds of traffic.
 */
import type { HomeConfig } from '../../core/home/config-file.js';
import type { StateStore } from '../../core/state/store.js';
import { DSTACK_VERSION } from '../../backends/version.js';
import { makeAuthenticate } from '../../proxy/http/auth.js';
import { makeForwarder } from '../../proxy/models/forward.js';
import { createProxyServer } from '../../proxy/http/server.js';
import { createModelsHandler } from '../../proxy/models/handler.js';
import type { RateLimiter } from '../../proxy/routing/rate-limiter.js';
import type { ServiceStats } from '../../proxy/stats/service-stats.js';
import { createAttachUpgrade } from '../api/attach.js';
import { createDashboard } from '../api/dashboard.js';
import { createMetricsHandler } from '../api/metrics.js';
import { createControlApi } from '../api/router.js';
import { createRunMetrics } from '../api/run-metrics.js';
import type { Log } from '../process/log.js';
import { StateModelRegistry } from '../runs/model-registry.js';
import type { ControlPlaneParts } from './control-plane.js';

export interface DataPlaneDeps {
  plane: ControlPlaneParts;
  store: StateStore;
  /** The home config as loaded at start (tokens, projects). */
  home: () => HomeConfig;
  homeDir: string;
  stats: ServiceStats;
  limiter: RateLimiter;
  clock: () => number;
  log: Log;
  startedAt: number;
}

/** Member tokens by project (the admin token is one of every project's), as the proxy authenticates them. */
export function projectTokens(home: HomeConfig): [string, string[]][] {
  return home.projects.map((p) => [p.name, [home.token, ...p.tokens]]);
}

/** Scale from zero at once on the first held request (DESIGN.md §4); the autoscaler takes it from there. */
export function makeOnColdStart(plane: ControlPlaneParts, store: StateStore) {
  return (project: string, run: string): void => {
    const r = store.runs().find((x) => x.project === project && x.name === run && x.desiredReplicas === 0);
    if (r) plane.control.setDesiredReplicas(project, run, 1);
  };
}

export function assembleDataPlane(d: DataPlaneDeps) {
  const { plane, store, stats, clock, log } = d;
  // Built once per loaded home config, not per request (the hot path asks on every proxied request).
  let tokens: { home: HomeConfig; byProject: Map<string, string[]> } | undefined;
  const authenticate = makeAuthenticate(() => {
    const home = d.home();
    if (tokens?.home !== home) tokens = { home, byProject: new Map(projectTokens(home)) };
    return tokens.byProject;
  });
  const onColdStart = makeOnColdStart(plane, store);
  return createProxyServer({
    routes: plane.routes,
    authenticate,
    stats,
    limiter: d.limiter,
    clock,
    log: (line: string) => log(line),
    controlApi: createControlApi({
      control: plane.control,
      events: plane.events,
      fleets: { manager: plane.fleets, events: plane.fleetEvents },
      secrets: plane.secrets,
      adminToken: () => d.home().token,
      metrics: createMetricsHandler({ runs: () => store.runs(), stats, clock }),
      runMetrics: createRunMetrics({
        findRun: (name) => plane.control.findRun(name),
        connect: (instance) => plane.reconciler.connect(instance),
        unreachable: (instance) => store.instance(instance)?.unreachable === true,
      }),
      health: () => ({ version: DSTACK_VERSION, pid: process.pid, uptimeSeconds: (clock() - d.startedAt) / 1000, home: d.homeDir }),
      log,
      saved: () => store.flush(),
    }),
    controlUpgrade: createAttachUpgrade({
      findRun: (name) => plane.control.findRun(name),
      connect: (instance) => plane.reconciler.connect(instance),
      unreachable: (instance) => store.instance(instance)?.unreachable === true,
      adminToken: () => d.home().token,
      log,
    }),
    onColdStart,
    dashboard: createDashboard(),
    modelsApi: createModelsHandler({
      registry: new StateModelRegistry(() => store.runs()),
      // The model endpoint counts its requests and scales from zero like the service proxy.
      forward: makeForwarder(plane.routes, { stats, clock, onColdStart }),
      authenticate,
    }),
  });
}
