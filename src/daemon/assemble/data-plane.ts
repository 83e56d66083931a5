/**
 * The data plane over the control plane's parts: one listener serving the control API, the service proxy and the
 * model endpoint, with the same token check, counters and cold-start hook for both kinds of traffic.
 */
import type { HomeConfig } from '../../core/home/config-file.js';
import type { StateStore } from '../../core/state/store.js';
import type { FileMirror } from '../../core/state/file-mirror.js';
import { DSTACK_VERSION } from '../../backends/version.js';
import { makeDigestAuthenticate } from '../../proxy/http/auth.js';
import { makeForwarder } from '../../proxy/models/forward.js';
import { createProxyServer } from '../../proxy/http/server.js';
import { createModelsHandler } from '../../proxy/models/handler.js';
import type { RateLimiter } from '../../proxy/routing/rate-limiter.js';
import type { ServiceStats } from '../../proxy/stats/service-stats.js';
import { createAttachUpgrade } from '../api/attach.js';
import { createDashboard } from '../api/dashboard.js';
import { createMetricsHandler } from '../api/metrics.js';
import { createAccountsApi } from '../api/accounts.js';
import { createArchivesApi } from '../api/archives.js';
import { join } from 'node:path';
import { createControlApi, type ControlScope } from '../api/router.js';
import type { AccessOptions } from '../api/scope-access.js';
import { createRunMetrics } from '../api/run-metrics.js';
import { createRunHistory } from '../api/run-history.js';
import type { Lifetime } from '../process/lifetime.js';
import type { Log } from '../process/log.js';
import { StateModelRegistry } from '../runs/model-registry.js';
import type { ControlPlaneParts } from './control-plane.js';
import { acceptedDigests, knownTokenOf } from './proxy-tokens.js';
import { deletedConfigProjects } from '../accounts/deleted-projects.js';

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
  /** What the data plane starts (the run-history sampler) is stopped with the daemon. */
  lifetime: Lifetime;
  /** A shared database's copy of uploaded archives (issue 17). */
  files?: FileMirror;
  /** Set when this server leads a shared database: its advertised URL (health says `role: leader`). */
  leaderUrl?: string;
  /** The HA lease's relay key: requests a standby relays then count as its clients'. */
  relayKey?: string;
}

/** Scale from zero at once on the first held request (DESIGN.md §4); the autoscaler takes it from there. */
export function makeOnColdStart(plane: ControlPlaneParts, store: StateStore) {
  return (project: string, run: string): void => {
    const r = store.runs().find((x) => x.project === project && x.name === run && x.desiredReplicas === 0);
    if (r) plane.control.setDesiredReplicas(project, run, 1);
  };
}

/** Who may reach which project's scope (router and attach): users and project records from state. */
export function accessOptions<S>(d: Pick<DataPlaneDeps, 'plane' | 'store' | 'home'>, scope: (project: string) => S | undefined): AccessOptions<S> {
  const { plane, store } = d;
  return {
    users: () => store.users(),
    adminToken: () => d.home().token,
    adminUser: () => d.home().user,
    // A configured project whose record is not made yet has no members: global admins only. One deleted through the
    // API is gone, though config.yml still names it.
    project: (name) =>
      store.project(name) ??
      (plane.scopes.exists(name) && (name === d.home().default_project || !deletedConfigProjects(store).has(name))
        ? { name, createdAt: 0, createdBy: d.home().user, members: [] }
        : undefined),
    // config.yml's legacy project tokens are known too: refused here, they are not a guess.
    knownToken: knownTokenOf(acceptedDigests(d.home, store)),
    defaultProject: () => d.home().default_project,
    scope: (project) => (plane.scopes.get(project) ? scope(project) : undefined),
  };
}

export function assembleDataPlane(d: DataPlaneDeps) {
  const { plane, store, stats, clock, log } = d;
  const authenticate = makeDigestAuthenticate(acceptedDigests(d.home, store));
  const onColdStart = makeOnColdStart(plane, store);
  const connect = (instance: string) => plane.reconciler.connect(instance);
  const unreachable = (instance: string) => store.instance(instance)?.unreachable === true;
  const history = createRunHistory({ runs: () => store.runs(), stats, clock, agents: { connect, unreachable } });
  d.lifetime.add(history.start());
  const controlScope = (project: string): ControlScope | undefined => {
    const s = plane.scopes.get(project);
    if (!s) return undefined;
    return {
      control: s.control,
      fleets: { manager: s.fleets, events: plane.fleetEvents },
      secrets: s.secrets,
      history: (name, url, res) => history.handle(project, name, url, res),
      runMetrics: createRunMetrics({ findRun: (name) => s.control.findRun(name), connect, unreachable }),
    };
  };
  const relayKey = d.relayKey;
  return createProxyServer({
    routes: plane.routes,
    authenticate,
    ...(relayKey ? { relayKey: () => relayKey } : {}),
    stats,
    limiter: d.limiter,
    clock,
    log: (line: string) => log(line),
    controlApi: createControlApi({
      ...accessOptions(d, controlScope),
      events: plane.events,
      archives: createArchivesApi({ archivesDir: join(d.homeDir, 'archives'), access: accessOptions(d, controlScope), ...(d.files ? { files: { mirror: d.files, home: d.homeDir } } : {}) }),
      accounts: createAccountsApi({
        store,
        saved: () => store.flush(),
        clock,
        defaultProject: () => d.home().default_project,
        config: () => ({ user: d.home().user, projects: d.home().projects.flatMap((p) => (p.url === undefined ? [p.name] : [])) }),
        secretsOf: (project) => plane.scopes.get(project)?.secrets,
      }),
      metrics: createMetricsHandler({ runs: () => store.runs(), stats, clock }),
      health: () => ({
        version: DSTACK_VERSION,
        pid: process.pid,
        uptimeSeconds: (clock() - d.startedAt) / 1000,
        home: d.homeDir,
        ...(d.leaderUrl !== undefined ? { role: 'leader' as const, leader: d.leaderUrl } : {}),
      }),
      log,
      saved: () => store.flush(),
    }),
    controlUpgrade: createAttachUpgrade({
      access: accessOptions(d, (project) => plane.scopes.get(project)?.control),
      connect,
      unreachable,
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
