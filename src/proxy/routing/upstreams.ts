/**
 * What the data plane keeps per replica: one keep-alive undici Pool per origin (proxy-bench.md: a Pool per replica,
 * connections ≥ expected concurrency) and the outstanding-request counter that least-outstanding selection and
 * `drain()` read. Counters are keyed by replica id; a replica that left the route table keeps its counter until its
 * in-flight requests finish, then it is dropped.
 */
import { Pool, type Dispatcher } from 'undici';
import type { ReplicaTarget } from '../contracts.js';
import { SocketPool } from '../fast/socket-pool.js';

export interface UpstreamsOptions {
  /** Sockets per replica origin; size at or above the expected concurrency (proxy-bench.md, nginx `keepalive`). */
  connections?: number;
  /** Connect timeout in ms (10 s as the brief asks; SSH tunnels answer locally so this is generous). */
  connectTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
}

interface ReplicaLoad {
  outstanding: number;
  /** False once the replica left the route table: drop the entry when outstanding reaches 0. */
  listed: boolean;
  drained: (() => void)[];
}

export class Upstreams {
  private readonly pools = new Map<string, Pool>();
  /** The fast path's connections per origin; null: an origin it cannot reach (https, a name, a tunnel). */
  private readonly sockets = new Map<string, SocketPool | null>();
  private readonly loads = new Map<string, ReplicaLoad>();
  private readonly options: Required<UpstreamsOptions>;

  constructor(options: UpstreamsOptions = {}) {
    this.options = {
      connections: options.connections ?? 1024,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      keepAliveTimeoutMs: options.keepAliveTimeoutMs ?? 60_000,
    };
  }

  /** The replica's own dispatcher (an SSH tunnel) or the shared Pool for its origin. */
  dispatcher(target: ReplicaTarget): Dispatcher {
    if (target.dispatcher) return target.dispatcher;
    let pool = this.pools.get(target.origin);
    if (!pool) {
      pool = new Pool(target.origin, {
        connections: this.options.connections,
        pipelining: 1,
        keepAliveTimeout: this.options.keepAliveTimeoutMs,
        connect: { timeout: this.options.connectTimeoutMs },
      });
      this.pools.set(target.origin, pool);
    }
    return pool;
  }

  /** Plain-TCP connections to the replica for the fast path (proxy/fast), or undefined when it has its own dispatcher. */
  socketPool(target: ReplicaTarget): SocketPool | undefined {
    if (target.dispatcher) return undefined;
    let pool = this.sockets.get(target.origin);
    if (pool === undefined) {
      const m = /^http:\/\/(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):(\d{1,5})\/?$/.exec(target.origin);
      pool = m ? new SocketPool(m[1]!.replace(/^\[|\]$/g, ''), Number(m[2]), this.options) : null;
      this.sockets.set(target.origin, pool);
    }
    return pool ?? undefined;
  }

  /** An arrow property so selection can take it as a callback without a closure per request. */
  readonly outstanding = (replicaId: string): number => this.loads.get(replicaId)?.outstanding ?? 0;

  acquire(replicaId: string): void {
    const load = this.loads.get(replicaId);
    if (load) load.outstanding++;
    else this.loads.set(replicaId, { outstanding: 1, listed: true, drained: [] });
  }

  release(replicaId: string): void {
    const load = this.loads.get(replicaId);
    if (!load || load.outstanding === 0) return;
    if (--load.outstanding > 0) return;
    const waiters = load.drained.splice(0);
    if (!load.listed) this.loads.delete(replicaId);
    for (const resolve of waiters) resolve();
  }

  /** Resolves when no request to `replicaId` is in flight (at once if none is). */
  drain(replicaId: string): Promise<void> {
    const load = this.loads.get(replicaId);
    if (!load || load.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => load.drained.push(resolve));
  }

  /**
   * Called with every replica still routed after a route-table change: counters of the others are dropped once
   * idle, and Pools of origins nobody routes to are closed (`close()` lets their in-flight requests finish).
   */
  sync(routed: readonly ReplicaTarget[]): void {
    const ids = new Set(routed.map((r) => r.id));
    const origins = new Set(routed.filter((r) => !r.dispatcher).map((r) => r.origin));
    for (const [id, load] of this.loads) {
      load.listed = ids.has(id);
      if (!load.listed && load.outstanding === 0) this.loads.delete(id);
    }
    for (const [origin, pool] of this.pools) {
      if (origins.has(origin)) continue;
      this.pools.delete(origin);
      pool.close().catch(() => undefined);
    }
    for (const [origin, pool] of this.sockets) {
      if (origins.has(origin)) continue;
      this.sockets.delete(origin);
      pool?.close();
    }
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    for (const pool of this.sockets.values()) pool?.close();
    this.sockets.clear();
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
  }
}
