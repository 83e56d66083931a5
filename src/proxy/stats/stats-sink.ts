/**
 * The counting hooks the data plane calls (dstack counts in the proxy what nginx logs with `dstack_replica_hit=1`:
 * requests that passed auth and rate limits, 503s at zero replicas included). The autoscaler reads the windows.
 */
export interface StatsSink {
  /** A request passed auth and rate limits and is about to be forwarded (or held). `now` in ms. */
  onRequest(project: string, run: string, now: number): void;
  /** The response ended (or failed) `latencyMs` after `onRequest`; `status` as sent to the client. */
  onResponse(project: string, run: string, latencyMs: number, status: number): void;
  /** Requests counted by `onRequest` and not yet by `onResponse`. */
  inFlight(project: string, run: string): number;
}

export interface StatsSnapshot {
  /** Requests per second averaged over the last 30, 60 and 300 one-second buckets. */
  rps30: number;
  rps60: number;
  rps300: number;
  inFlight: number;
  /** Latency percentiles in ms over the last 60 s; 0 when no response ended in that window. */
  p50: number;
  p99: number;
}
