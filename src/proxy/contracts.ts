/**
 * Seams inside the daemon, so the data plane (HTTP proxy), the control plane (state, reconciler, backends) and
 * the model endpoint can be built and tested apart:
 *
 *   control plane ──writes──▶ RouteTable ◀──reads── data plane (/proxy/services/...)
 *                                  ▲                     │ forward(route, request)
 *                      ModelRegistry (models of running  ▼
 *                      services)  ──▶ models endpoint (/proxy/models/...) uses `Forwarder`
 */
import type { Dispatcher } from 'undici';

/** One ready replica as the proxy reaches it: an origin on loopback, possibly through an SSH tunnel. */
export interface ReplicaTarget {
  /** Stable replica id (same as the agent's ReplicaSpec.id). */
  id: string;
  /** e.g. `http://127.0.0.1:49153` — on the local backend the published port; on SSH hosts a tunnel. */
  origin: string;
  /** Custom dispatcher when the origin is reached through an SSH connection (issue 5); else a per-origin Pool. */
  dispatcher?: Dispatcher;
}

/** A `rate_limits` rule: the run settings' shape, declared once in core. */
export type { RateLimitRule } from '../core/state/schema.js';
import type { RateLimitRule } from '../core/state/schema.js';

export interface ServiceRoute {
  project: string;
  run: string;
  auth: boolean;
  stripPrefix: boolean;
  /** Only replicas that are running AND passed their probes. */
  replicas: ReplicaTarget[];
  rateLimits: RateLimitRule[];
  /** True when the service may scale up from zero: hold requests instead of answering 503 (issue 7). */
  canScaleFromZero: boolean;
  /** Per-read upstream timeout in ms (dstack's DSTACK_SERVICE_CLIENT_TIMEOUT, default 60 s). */
  readTimeoutMs: number;
  /** Set when `replicas` are a router group's (issue 14): only the router's inference paths are forwarded. */
  router?: 'sglang' | 'dynamo';
  /**
   * Set by a daemon that just started for services whose replicas served before it (issue 15, restart to serving):
   * their hosts are being reconnected, so requests wait as for a cold start (without waking the autoscaler) until the
   * route has replicas again, instead of a 503.
   */
  warming?: true;
}

/** Written by the control plane, read by the data plane on every request (a Map lookup, nothing more). */
export interface RouteTable {
  get(project: string, run: string): ServiceRoute | undefined;
  set(route: ServiceRoute): void;
  delete(project: string, run: string): void;
  list(): ServiceRoute[];
  /** Resolves when the route has a ready replica, or with false after `timeoutMs` (cold start holding). */
  waitForReplica(project: string, run: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
}

/** A model published by a running service (`model:` set), as the /proxy/models endpoint sees it. */
export interface ModelEntry {
  project: string;
  name: string;
  run: string;
  format: 'openai' | 'tgi';
  /** openai: path prefix on the replica, default `/v1`. */
  prefix: string;
  chatTemplate?: string;
  eosToken?: string;
  bosToken?: string;
  /** Run submission time (ms): the newest run wins on a name clash; also `created` in /models. */
  createdAt: number;
}

export interface ModelRegistry {
  list(project: string): ModelEntry[];
  /** The newest run publishing `name` in `project`. */
  find(project: string, name: string): ModelEntry | undefined;
}

export interface UpstreamRequest {
  method: string;
  /** Path + query as the replica should see it. */
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  signal?: AbortSignal;
}

export interface UpstreamResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<Buffer> & { destroy?(err?: Error): void };
}

/** Sends one request to a ready replica of `project/run` (least outstanding, retry on connect failure). */
export type Forwarder = (project: string, run: string, request: UpstreamRequest) => Promise<UpstreamResponse>;

/**
 * What a Bearer token is to a project: `ok` (accepted), `not-member` (a known user's or admin's token that this
 * project does not accept) or `unknown` (no one's, or none). Only `unknown` counts as a failed login: a member of
 * another project is refused without being taken for a guesser.
 */
export type AuthVerdict = 'ok' | 'not-member' | 'unknown';

/** Checks a Bearer token against the project's member tokens, in constant time. */
export type Authenticate = (project: string, token: string | undefined) => AuthVerdict;
