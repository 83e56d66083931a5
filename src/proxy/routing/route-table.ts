/**
 * The in-memory RouteTable: the control plane `set()`s routes, the data plane `get()`s them on every request.
 * It also owns the data plane's per-replica state (`upstreams`: Pools and outstanding counters), so that a replica
 * leaving the table is noticed at once and the reconciler can `drain()` it before stopping its container, and the
 * per-service count of requests held for a cold start, shared by every entry point that routes through the table.
 */
import type { RouteTable, ServiceRoute } from '../contracts.js';
import { HeldRequests } from './held-requests.js';
import { Upstreams, type UpstreamsOptions } from './upstreams.js';

interface Waiter {
  resolve: (ready: boolean) => void;
}

const keyOf = (project: string, run: string): string => `${project}/${run}`;

export class MemoryRouteTable implements RouteTable {
  readonly upstreams: Upstreams;
  readonly held = new HeldRequests();
  private readonly routes = new Map<string, ServiceRoute>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly listeners: (() => void)[] = [];
  private readonly drainers: ((replicaId: string) => Promise<void>)[] = [];

  constructor(options: UpstreamsOptions = {}) {
    this.upstreams = new Upstreams(options);
  }

  get(project: string, run: string): ServiceRoute | undefined {
    return this.routes.get(keyOf(project, run));
  }

  set(route: ServiceRoute): void {
    const key = keyOf(route.project, route.run);
    this.routes.set(key, route);
    this.changed();
    if (route.replicas.length > 0) this.release(key, true);
    // A restart's warming route replaced by one without replicas that cannot scale up: nothing will come to wait for.
    else if (!route.canScaleFromZero && !route.warming) this.release(key, false);
  }

  delete(project: string, run: string): void {
    const key = keyOf(project, run);
    this.routes.delete(key);
    this.changed();
    const waiting = this.waiters.get(key);
    this.waiters.delete(key);
    // A deleted service will not get replicas: release held requests now (they answer 404/503 on re-lookup).
    for (const w of waiting ?? []) w.resolve(false);
  }

  list(): ServiceRoute[] {
    return [...this.routes.values()];
  }

  /**
   * Makes the table hold exactly `routes` (a proxy worker's copy of the primary's table): one upstream sync for the
   * whole snapshot instead of one per route, and waiters released as `set`/`delete` would release them.
   */
  replace(routes: readonly ServiceRoute[]): void {
    const next = new Map(routes.map((r) => [keyOf(r.project, r.run), r]));
    const gone = [...this.routes.keys()].filter((key) => !next.has(key));
    this.routes.clear();
    for (const [key, route] of next) this.routes.set(key, route);
    this.changed();
    for (const [key, route] of next) {
      if (route.replicas.length > 0) this.release(key, true);
      else if (!route.canScaleFromZero && !route.warming) this.release(key, false);
    }
    for (const key of gone) this.release(key, false);
  }

  /** Called after every change (proxy workers get a snapshot); the caller coalesces. */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Another holder of in-flight requests (a proxy worker) that `drain()` also waits for. */
  addDrainer(drainer: (replicaId: string) => Promise<void>): void {
    this.drainers.push(drainer);
  }

  waitForReplica(project: string, run: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if ((this.get(project, run)?.replicas.length ?? 0) > 0) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    const key = keyOf(project, run);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve: (ready) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.waiters.get(key)?.delete(waiter);
          resolve(ready);
        },
      };
      const onAbort = (): void => waiter.resolve(false);
      const timer = setTimeout(onAbort, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      let set = this.waiters.get(key);
      if (!set) this.waiters.set(key, (set = new Set()));
      set.add(waiter);
    });
  }

  /** Resolves when no request to the replica is in flight; await it before stopping a replica's container. */
  drain(replicaId: string): Promise<void> {
    if (this.drainers.length === 0) return this.upstreams.drain(replicaId);
    return Promise.all([this.upstreams.drain(replicaId), ...this.drainers.map((d) => d(replicaId))]).then(() => undefined);
  }

  /** Closes every upstream Pool (the daemon is stopping). */
  close(): Promise<void> {
    return this.upstreams.close();
  }

  private changed(): void {
    this.upstreams.sync([...this.routes.values()].flatMap((r) => r.replicas));
    for (const listener of this.listeners) listener();
  }

  private release(key: string, ready: boolean): void {
    const waiting = this.waiters.get(key);
    if (!waiting) return;
    this.waiters.delete(key);
    for (const w of waiting) w.resolve(ready);
  }
}

/** The per-replica state a data-plane component should use for `routes`: the table's own when it has one. */
export function upstreamsOf(routes: object, fallback: () => Upstreams): Upstreams {
  return routes instanceof MemoryRouteTable ? routes.upstreams : fallback();
}

/** The held-request counters a data-plane component should use for `routes`: the table's own when it has one. */
export function heldRequestsOf(routes: object, fallback: () => HeldRequests): HeldRequests {
  return routes instanceof MemoryRouteTable ? routes.held : fallback();
}
