/**
 * Reads and compare-and-set writes of replica records through the state store. A write happens only on a real
 * change (the update returns its input, or an equal record), and each one tells the run's listeners and wakes the
 * loop, so a burst of agent events leads to one reconcile pass rather than one per event.
 */
import { sameFields } from '../../core/reconcile/index.js';
import type { ReplicaRecord, RunRecord } from '../../core/state/schema.js';
import type { StateStore } from '../../core/state/store.js';

export type ReplicaUpdate = (replica: ReplicaRecord, run: RunRecord) => ReplicaRecord;

export interface ReplicaRecordsOptions {
  store: StateStore;
  events: { notify(runId: string): void };
  /** A record changed (the reconciler kicks its loop). */
  changed: () => void;
}

export class ReplicaRecords {
  constructor(private readonly o: ReplicaRecordsOptions) {}

  find(id: string): { run: RunRecord; replica: ReplicaRecord } | undefined {
    for (const run of this.o.store.runs()) {
      const replica = run.replicas.find((r) => r.id === id);
      if (replica) return { run, replica };
    }
    return undefined;
  }

  /** Applies `fn` to the current record of replica `id`; returns the record now stored (undefined: no such replica). */
  update(id: string, fn: ReplicaUpdate): ReplicaRecord | undefined {
    const found = this.find(id);
    if (!found) return undefined;
    let stored: ReplicaRecord | undefined;
    this.updateRun(found.run.id, (run) => {
      const current = run.replicas.find((r) => r.id === id);
      if (!current) return run;
      const next = fn(current, run);
      // Callers outside the pure decisions may build an equal copy: that is no change either.
      stored = next === current || sameFields(current, next) ? current : next;
      return stored === current ? run : { ...run, replicas: run.replicas.map((r) => (r === current ? stored! : r)) };
    });
    return stored;
  }

  /**
   * Compare-and-set of one run; returns the record now stored. `wake: false` for the loop's own pass, which has
   * already decided on everything it changes.
   */
  updateRun(id: string, fn: (run: RunRecord) => RunRecord, wake = true): RunRecord | undefined {
    const before = this.o.store.run(id);
    const after = this.o.store.updateRun(id, fn);
    if (after !== undefined && after !== before) {
      this.o.events.notify(id);
      if (wake) this.o.changed();
    }
    return after;
  }
}
