/** The run-history answer of the control API (`GET /api/runs/:name/history`), shared by the daemon and the dashboard. */

/** One point of `GET /api/runs/:name/history` (src/daemon/runs/history.ts samples them; the dashboard plots them). */
export interface HistoryPoint {
  /** Seconds since the epoch (what uPlot's time axis takes). */
  t: number;
  /** Requests per second over the stats' last 30 s. */
  rps: number;
  inFlight: number;
  /** Latency percentiles over the stats' last 60 s, in ms; 0 when nothing was answered then. */
  p50: number;
  p99: number;
  desired: number;
  ready: number;
  /**
   * Each running replica's resource use as its agent reported it in the last interval, by replica label (`num`,
   * or `group/num` with replica groups); absent when no replica had figures.
   */
  replicas?: Record<string, ReplicaFigures>;
}

/** One replica's figures at a history point (the agent's ReplicaMetrics, reduced to what the plots draw). */
export interface ReplicaFigures {
  /** 100 = one core busy, as `docker stats` and `dstack metrics` count it. */
  cpu: number;
  memoryMiB: number;
  /** Mean utilisation of its GPUs, and their memory in use; absent when the agent reports no GPU figures. */
  gpu?: number;
  gpuMemoryMiB?: number;
}

export interface HistoryAnswer {
  interval: number;
  points: HistoryPoint[];
}
