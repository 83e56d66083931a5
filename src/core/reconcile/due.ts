/**
 * When time alone can change `reconcileRun`'s decision on a record (issue 15: a tick reconciles only runs that
 * changed or have a timer due, so its cost does not grow with the number of steady services). The decision reads
 * `now` in exactly these rules of decide.ts and liveness.ts; a rule that starts reading it must add its deadline here
 * (due.test.ts checks each one against `reconcileRun` itself):
 * - `max_duration`: the run ends once `now - submittedAt` exceeds it;
 * - the crash-loop guard's `retry` window closes at `submittedAt + retry.duration`;
 * - an unhealthy replica is retired once its grace period is over;
 * - a failed replica's number is resubmitted once its backoff is over.
 * Everything else it reads is the record (a new object on every write) or the context's placement target.
 */
import type { RunRecord } from '../state/schema.js';
import { backoffDelayMs } from './backoff.js';
import { consecutiveFailures, type ReconcileContext } from './decide.js';
import { DEFAULT_UNHEALTHY_GRACE_MS } from './liveness.js';
import { isLive } from './replica-status.js';

/**
 * The earliest deadline at or after `ctx.now` at which deciding on the same `run` may give another answer; Infinity
 * when none. A deadline equal to `now` counts as still due: rules that compare strictly fire just after it.
 */
export function nextDueAt(run: RunRecord, ctx: Pick<ReconcileContext, 'now' | 'backoffBaseMs' | 'unhealthyGraceMs'>): number {
  if (run.terminationReason !== undefined) return Infinity;
  const deadlines: number[] = [];
  const max = run.settings.maxDurationSeconds;
  if (max !== undefined) deadlines.push(run.submittedAt + max * 1000);
  const retry = run.settings.retry;
  if (retry) deadlines.push(run.submittedAt + retry.durationSeconds * 1000);
  const grace = ctx.unhealthyGraceMs ?? DEFAULT_UNHEALTHY_GRACE_MS;
  for (const r of run.replicas) if (isLive(r) && r.unhealthy) deadlines.push(r.unhealthy.since + grace);
  for (const num of new Set(run.replicas.map((r) => r.num))) {
    const { count, lastFinishedAt } = consecutiveFailures(run, num);
    if (count > 0 && lastFinishedAt !== undefined) deadlines.push(lastFinishedAt + backoffDelayMs(count, ctx.backoffBaseMs));
  }
  return deadlines.reduce((soonest, t) => (t >= ctx.now && t < soonest ? t : soonest), Infinity);
}
