/**
 * What the daemon (primary) and its proxy workers say to each other over the IPC channel, and the rule both sides
 * apply: which services a worker relays to the primary instead of serving.
 *
 * Rate limits across N workers are exact: a service with `rate_limits` is served by the primary (workers relay its
 * requests, WebSockets included), so one set of buckets sees every request, as with one process. Splitting the
 * buckets (`rps / N` per worker) would keep the total under the limit but give a client whose connections land on
 * one worker only `rps / N` (the e2e pins 10 rps ± 10% for one client); the price of exactness is that a
 * rate-limited service's traffic is not spread over the workers.
 */
import type { ModelEntry, ServiceRoute } from '../contracts.js';

/** A route as it crosses the process boundary: replicas without their dispatchers. */
export interface WireRoute extends Omit<ServiceRoute, 'replicas'> {
  replicas: { id: string; origin: string }[];
  /** Served by the primary: rate limits, or a replica only reachable through the primary's SSH tunnel. */
  relay: boolean;
}

export interface WorkerState {
  routes: WireRoute[];
  /** Accepted token digests by project (`makeDigestAuthenticate`): a worker never receives a plain token. */
  digests: [string, string[]][];
  models: ModelEntry[];
  /** The HA lease's relay key (proxy/http/relayed-client.ts); absent when not on a shared database. */
  relayKey?: string;
}

export interface HoldSettings {
  maxHeldPerService?: number;
  holdTimeoutMs?: number;
}

export type ToWorker =
  /** `tls`: the daemon's PEM (over the IPC pipe, never a file the worker must be able to read). */
  | { t: 'init'; index: number; socketPath: string; hold: HoldSettings; state: WorkerState; tls?: { cert: string; key: string } }
  | { t: 'state'; state: WorkerState }
  | { t: 'drain'; seq: number; replica: string }
  /** Send the listening handle back (the primary passes it on to a replacement worker). */
  | { t: 'lend' };

/** [project, run, 0, at] a request was admitted; [project, run, 1, latencyMs, status] its response ended. */
export type StatsEvent = [string, string, 0, number] | [string, string, 1, number, number];

export type ToPrimary =
  | { t: 'ready' }
  | { t: 'stats'; events: StatsEvent[] }
  | { t: 'cold'; project: string; run: string }
  | { t: 'log'; line: string }
  | { t: 'drained'; seq: number }
  | { t: 'handle' };

export function toWire(route: ServiceRoute): WireRoute {
  const relay = route.rateLimits.length > 0 || route.replicas.some((r) => r.dispatcher !== undefined);
  return { ...route, replicas: route.replicas.map((r) => ({ id: r.id, origin: r.origin })), relay };
}

/** The route as a worker's table holds it. */
export function fromWire(route: WireRoute): ServiceRoute {
  const { relay: _relay, ...rest } = route;
  return rest;
}
