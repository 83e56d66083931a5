import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../state/schema.js';
import { ctx, replica, run, settings } from '../../../test/unit/reconcile/fixtures.js';
import { reconcileRun } from './decide.js';
import { nextDueAt } from './due.js';

/** The deadline `nextDueAt` names, checked against the decision itself: nothing changes before it, something after. */
function expectDeadline(r: RunRecord, now: number, due: number, over: object = {}) {
  expect(reconcileRun(r, ctx(now, over)).run).toBe(r);
  expect(nextDueAt(r, ctx(now, over))).toBe(due);
  expect(reconcileRun(r, ctx(due - 1, over)).run).toBe(r);
  expect(reconcileRun(r, ctx(due + 1, over)).run).not.toBe(r);
}

const steady = (over: Partial<RunRecord> = {}) =>
  run({ status: 'running', statusMessage: 'running', replicas: [replica({ readyAt: 0 })], ...over });

/** Replica 0 failed three times in a row (the last at 3 s), never ready: the crash-loop guard's case. */
const crashing = () =>
  run({
    status: 'pending',
    statusMessage: 'retrying',
    settings: settings({ retry: { onEvents: ['error'], durationSeconds: 100 } }),
    replicas: [0, 1, 2].map((submission) => replica({ submission, status: 'failed', ready: false, finishedAt: (submission + 1) * 1000, removed: true })),
  });

describe('nextDueAt: when time alone changes a decision', () => {
  it('has no deadline for a steady run, or for one that is ending', () => {
    const r = steady();
    expect(reconcileRun(r, ctx(5_000)).run).toBe(r);
    expect(nextDueAt(r, ctx(5_000))).toBe(Infinity);
    expect(nextDueAt(steady({ terminationReason: 'stopped_by_user', settings: settings({ maxDurationSeconds: 10 }) }), ctx(0))).toBe(Infinity);
  });

  it('names the end of max_duration', () => {
    expectDeadline(steady({ settings: settings({ maxDurationSeconds: 10 }) }), 5_000, 10_000);
  });

  it("names the end of a failed replica's backoff", () => {
    // 3 failures: 4 × the 1 s base after the last one.
    expectDeadline(crashing(), 5_000, 7_000);
  });

  it("names the end of retry's window while the backoff runs longer", () => {
    expectDeadline(crashing(), 5_000, 100_000, { backoffBaseMs: 1_000_000 });
  });

  it("names the end of an unhealthy replica's grace period", () => {
    const r = steady({ replicas: [replica({ readyAt: 0, ready: false, unhealthy: { since: 1_000, reason: 'GET / failed 3 times in a row' } })] });
    expectDeadline(r, 2_000, 6_000, { unhealthyGraceMs: 5_000 });
  });

  it('keeps a deadline equal to now and drops those already past', () => {
    const r = steady({ settings: settings({ maxDurationSeconds: 10 }) });
    expect(nextDueAt(r, ctx(10_000))).toBe(10_000);
    expect(nextDueAt(r, ctx(10_001))).toBe(Infinity);
  });
});
