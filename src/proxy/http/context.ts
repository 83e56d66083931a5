/** What every request handler of the data plane shares: built once by `createProxyServer`. */
import type { Authenticate } from '../contracts.js';
import type { RateLimiter } from '../routing/rate-limiter.js';
import type { StatsSink } from '../stats/stats-sink.js';
import type { UpstreamEnv } from '../upstream/attempt.js';

export type ProxyLog = (message: string, fields?: Record<string, unknown>) => void;

/** The upstream attempt's environment (routes, upstreams, random, cold-start hold, log) plus the front door's. */
export interface ProxyContext extends UpstreamEnv {
  authenticate: Authenticate;
  limiter: RateLimiter;
  stats: StatsSink | undefined;
  clock: () => number;
  log: ProxyLog;
}
