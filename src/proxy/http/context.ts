/** What every request handler of the data plane shares: built once by `createProxyServer`. */
import type { Authenticate, RouteTable } from '../contracts.js';
import type { RateLimiter } from '../routing/rate-limiter.js';
import type { Random } from '../routing/select.js';
import type { Upstreams } from '../routing/upstreams.js';
import type { StatsSink } from '../stats/stats-sink.js';

export type ProxyLog = (message: string, fields?: Record<string, unknown>) => void;

export interface HoldOptions {
  /** Requests held per service while it scales up from zero; more get 503 at once. Default 256. */
  maxHeldPerService: number;
  /** How long a held request waits for a ready replica (model loading can take minutes). Default 600 s. */
  holdTimeoutMs: number;
  /** Called on the first held request of a service, so the autoscaler scales up without waiting for its tick. */
  onColdStart: ((project: string, run: string) => void) | undefined;
}

export interface ProxyContext {
  routes: RouteTable;
  upstreams: Upstreams;
  authenticate: Authenticate;
  limiter: RateLimiter;
  stats: StatsSink | undefined;
  clock: () => number;
  random: Random;
  log: ProxyLog;
  hold: HoldOptions;
  /** Held requests per `project/run`. */
  held: Map<string, number>;
}
