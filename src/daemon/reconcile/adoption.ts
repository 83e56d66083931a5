/**
 * Agent reports into state, through the pure adoption decisions (core/reconcile/adoption.ts). Each record is written
 * with a decision made on the record as stored at that moment (compare-and-set), so a change made between the
 * snapshot's decision and its write (a stop requested, a probe result) is never overwritten.
 */
import type { ReplicaState } from '../../core/model/agent-api.js';
import { adoptReplicaState, adoptSnapshot, applyAgentRemoved } from '../../core/reconcile/index.js';
import type { ReplicaRecord } from '../../core/state/schema.js';
import type { StateView } from '../../core/state/store.js';
import type { ReplicaRecords } from './replica-records.js';

export interface AdoptionOptions {
  store: Pick<StateView, 'runs'>;
  replicas: Pick<ReplicaRecords, 'find' | 'update'>;
  /** Replicas with an operation in flight. */
  busy: ReadonlySet<string>;
  stopLeftover: (instance: string, id: string) => void;
  clock: () => number;
}

export class Adoption {
  constructor(private readonly o: AdoptionOptions) {}

  /** Everything the agent on `instance` holds (first event of each connection). */
  snapshot(instance: string, agent: ReplicaState[]): void {
    const now = this.o.clock();
    const stored = this.o.store.runs().flatMap((run) => run.replicas.filter((r) => (r.instance ?? 'local') === instance));
    const decision = adoptSnapshot({ stored, agent, busy: this.o.busy, now });
    const reported = new Map(agent.map((s) => [s.id, s]));
    for (const r of [...decision.updated, ...decision.removed]) {
      const state = reported.get(r.id);
      this.o.replicas.update(r.id, (current) => {
        const again = adoptSnapshot({ stored: [current], agent: state ? [state] : [], busy: this.o.busy, now });
        return again.updated[0] ?? again.removed[0] ?? current;
      });
    }
    for (const id of decision.leftovers) this.o.stopLeftover(instance, id);
  }

  /** One replica changed on the agent. */
  replica(instance: string, state: ReplicaState): void {
    const now = this.o.clock();
    const found = this.o.replicas.find(state.id);
    let leftover = adoptReplicaState(found?.replica, state, this.o.busy, now).leftover;
    if (found) {
      this.o.replicas.update(state.id, (current) => {
        const decision = adoptReplicaState(current, state, this.o.busy, now);
        leftover = decision.leftover;
        return decision.updated ?? current;
      });
    }
    if (leftover) this.o.stopLeftover(instance, state.id);
  }

  /** The agent removed a replica: if state still thought it active, it ended. */
  removed(id: string): void {
    this.o.replicas.update(id, (r: ReplicaRecord) => applyAgentRemoved(r, this.o.clock()));
  }
}
