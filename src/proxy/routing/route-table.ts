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
    if (route.replicas.length === 0) return;
    const waiting = this.waiters.get(key);
    if (!waiting) return;
    this.waiters.delete(key);
    for (const w of waiting) w.resolve(true);
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
    return this.upstreams.drain(replicaId);
  }

  /** Closes every upstream Pool (the daemon is stopping). */
  close(): Promise<void> {
    return this.upstreams.close();
  }

  private changed(): void {
    this.upstreams.sync([...this.routes.values()].flatMap((r) => r.replicas));
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
