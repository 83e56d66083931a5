/**
 * State → route table: a service's route lists only replicas that run, passed their probes and are not being
 * stopped (DESIGN.md §4), or, when none has, those that turned unhealthy after being ready (core `routable`).
 * A service with a router group routes to that group's replicas only, never to its workers (core router.ts).
 * Each route carries its service's idle limit (`stream_idle_timeout`, else the daemon's default). Routes are
 * rewritten only when their content changed, so the data plane's per-replica pools are not churned every tick.
 * A `RouteCache` keeps each run's route while its record and its replicas' connections are the same objects, so a
 * tick over many steady services builds no route and compares none field by field (issue 15, growth).
 */
import type { RouteTable, ServiceRoute } from '../../proxy/contracts.js';
import { isRunFinished, routable } from '../../core/reconcile/index.js';
import { routerGroupOf, trafficReplicas } from '../../core/runs/router.js';
import { streamIdleMs } from '../../core/runs/stream-idle.js';
import type { RateLimitRule, RunRecord } from '../../core/state/schema.js';
import type { AgentConnection } from '../../backends/backend.js';

export interface RouteSyncOptions {
  /** The idle limit of services that do not set `stream_idle_timeout` (ms, 0 = none). */
  readTimeoutMs: number;
  /** The connection of a replica's instance, when one is open (origins come from it). */
  connection: (instance: string) => Pick<AgentConnection, 'replicaOrigin'> | undefined;
  /** A daemon's start: routes whose stored replicas served but have no connection yet are marked `warming`. */
  warming?: boolean;
}

export function routeFor(run: RunRecord, options: RouteSyncOptions): ServiceRoute {
  const reachable = trafficReplicas(run, run.replicas).filter((r) => r.hostPort !== undefined && options.connection(r.instance ?? 'local'));
  const replicas = routable(reachable).flatMap((r) => {
    const conn = options.connection(r.instance ?? 'local');
    if (!conn || r.hostPort === undefined) return [];
    const { origin, dispatcher } = conn.replicaOrigin(r.hostPort);
    return [{ id: r.id, origin, ...(dispatcher ? { dispatcher } : {}) }];
  });
  const router = routerGroupOf(run);
  const served = options.warming === true && replicas.length === 0 && routable(trafficReplicas(run, run.replicas).filter((r) => r.hostPort !== undefined)).length > 0;
  return {
    project: run.project,
    run: run.name,
    auth: run.settings.auth,
    stripPrefix: run.settings.stripPrefix,
    replicas,
    rateLimits: run.settings.rateLimits,
    canScaleFromZero: run.settings.autoscaling && run.settings.replicas.min === 0,
    readTimeoutMs: streamIdleMs(run.settings, options.readTimeoutMs),
    ...(router ? { router: router.type } : {}),
    ...(served ? { warming: true as const } : {}),
  };
}

/**
 * Routes already built, per run id: valid while the record is the same object (records are values: any change is a
 * new one) and every connection its replicas were looked up on is still the one `connection` returns.
 */
export class RouteCache {
  private readonly entries = new Map<string, { run: RunRecord; conns: Map<string, unknown>; route: ServiceRoute }>();

  routeFor(run: RunRecord, options: RouteSyncOptions): ServiceRoute {
    const entry = this.entries.get(run.id);
    if (entry && entry.run === run && [...entry.conns].every(([i, c]) => options.connection(i) === c)) return entry.route;
    const conns = new Map<string, unknown>();
    const recording: RouteSyncOptions = {
      ...options,
      connection: (i) => {
        const c = options.connection(i);
        conns.set(i, c);
        return c;
      },
    };
    const route = routeFor(run, recording);
    this.entries.set(run.id, { run, conns, route });
    return route;
  }

  /** Forgets runs no longer synced (finished or removed). */
  retain(ids: ReadonlySet<string>): void {
    for (const id of this.entries.keys()) if (!ids.has(id)) this.entries.delete(id);
  }
}

/** Whether two routes send the same traffic the same way (a replica's tunnel dispatcher may be renewed: not a change). */
function sameRoute(a: ServiceRoute, b: ServiceRoute): boolean {
  if (a === b) return true;
  const scalars = (['project', 'run', 'auth', 'stripPrefix', 'canScaleFromZero', 'readTimeoutMs', 'router', 'warming'] as const).every((k) => a[k] === b[k]);
  const replicas = a.replicas.length === b.replicas.length && a.replicas.every((r, i) => r.id === b.replicas[i]?.id && r.origin === b.replicas[i]?.origin);
  const limits = a.rateLimits === b.rateLimits || (a.rateLimits.length === b.rateLimits.length && a.rateLimits.every((r, i) => sameRule(r, b.rateLimits[i])));
  return scalars && replicas && limits;
}

function sameRule(a: RateLimitRule, b: RateLimitRule | undefined): boolean {
  if (!b || a.prefix !== b.prefix || a.rps !== b.rps || a.burst !== b.burst || a.key.type !== b.key.type) return false;
  return a.key.type !== 'header' || (b.key.type === 'header' && a.key.header === b.key.header);
}

/** Makes `routes` reflect `runs`: active runs get a route, others lose theirs. */
export function syncRoutes(routes: RouteTable, runs: readonly RunRecord[], options: RouteSyncOptions, cache?: RouteCache): void {
  const wanted = new Map<string, ServiceRoute>();
  const synced = new Set<string>();
  for (const run of runs) {
    if (isRunFinished(run)) continue;
    synced.add(run.id);
    wanted.set(`${run.project}/${run.name}`, cache ? cache.routeFor(run, options) : routeFor(run, options));
  }
  cache?.retain(synced);
  for (const existing of routes.list()) {
    const key = `${existing.project}/${existing.run}`;
    const next = wanted.get(key);
    if (!next) routes.delete(existing.project, existing.run);
    else if (sameRoute(next, existing)) wanted.delete(key);
  }
  for (const route of wanted.values()) routes.set(route);
}
