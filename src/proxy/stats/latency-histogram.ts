/**
 * Log-scale latency histogram: constant memory per one-second bucket, percentiles within ~10% (bin width factor
 * 1.2), which is all `dstack ps` and the bench need. Bins cover 0.1 ms … ~10 min.
 */
const FACTOR = 1.2;
const MIN_MS = 0.1;
export const BINS = 86;
const LOG_FACTOR = Math.log(FACTOR);

export function binOf(latencyMs: number): number {
  if (!(latencyMs > MIN_MS)) return 0;
  return Math.min(BINS - 1, 1 + Math.floor(Math.log(latencyMs / MIN_MS) / LOG_FACTOR));
}

/** Upper edge of a bin in ms: the value reported for a percentile that falls in it. */
export function binUpperMs(bin: number): number {
  return MIN_MS * FACTOR ** bin;
}

/** Percentile `q` (0..1) of the merged counts, as the upper edge of the bin holding it. */
export function percentile(counts: ArrayLike<number>, total: number, q: number): number {
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i] ?? 0;
    if (seen >= rank) return binUpperMs(i);
  }
  return binUpperMs(counts.length - 1);
}
