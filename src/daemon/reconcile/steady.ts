/**
 * Which runs a tick must decide on (issue 15): a tick over 100 steady services cost as much as 100 decisions, every
 * second, for nothing. A run is settled when its last decision kept its record and left no effect to carry out; it
 * stays settled while the store still holds that same record (records are values: every write — an API change, an
 * agent event, a probe result, an autoscaler count — stores a new object), its placement inputs are the same and no
 * deadline of `nextDueAt` has come. A decision with effects is never settled: effects wait on busy replicas and
 * failed ones are retried by deciding again on a later tick.
 */
import { nextDueAt, type Decision, type ReconcileContext } from '../../core/reconcile/index.js';
import type { RunRecord } from '../../core/state/schema.js';

interface Settled {
  record: RunRecord;
  /** What the decision read besides the record and time (its placement target, spot capacity); compared as text. */
  inputs: string;
  dueAt: number;
}

export class SteadyRuns {
  private readonly settled = new Map<string, Settled>();

  /** Whether deciding on `run` now would change nothing. */
  isSteady(run: RunRecord, inputs: string, now: number): boolean {
    const s = this.settled.get(run.id);
    return s !== undefined && s.record === run && s.inputs === inputs && now < s.dueAt;
  }

  /** Records a decision made on `run` (the record as stored when deciding). */
  decided(run: RunRecord, decision: Decision, inputs: string, ctx: ReconcileContext): void {
    if (decision.run !== run || decision.effects.length > 0) {
      this.settled.delete(run.id);
      return;
    }
    this.settled.set(run.id, { record: run, inputs, dueAt: nextDueAt(run, ctx) });
  }

  /** Forgets runs that are no longer decided on (finished or removed). */
  retain(active: readonly RunRecord[]): void {
    if (this.settled.size <= active.length) return;
    const ids = new Set(active.map((r) => r.id));
    for (const id of this.settled.keys()) if (!ids.has(id)) this.settled.delete(id);
  }
}
