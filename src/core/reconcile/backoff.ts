/**
 * Resubmission delays after consecutive failures, as dstack spaces them (runs/pending.py: 15s, 30s, 1m, 2m, 5m,
 * 10m, then 10m). The base is configurable (DSTACK_RETRY_BACKOFF_BASE_MS) so tests can run the same sequence fast.
 */
export const DEFAULT_BACKOFF_BASE_MS = 15_000;
const FACTORS = [1, 2, 4, 8, 20, 40] as const;

/** Delay before the next submission after `failures` (≥ 1) consecutive failures; 0 when there were none. */
export function backoffDelayMs(failures: number, baseMs: number = DEFAULT_BACKOFF_BASE_MS): number {
  if (failures <= 0) return 0;
  const factor = FACTORS[Math.min(failures, FACTORS.length) - 1] ?? 40;
  return factor * baseMs;
}

export function backoffBaseFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.DSTACK_RETRY_BACKOFF_BASE_MS;
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : DEFAULT_BACKOFF_BASE_MS;
}
