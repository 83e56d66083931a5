/**
 * Adopting what an agent reports (DESIGN.md §2: a restarted daemon reconnects and adopts its replicas), pure. Each
 * (re)connection to an agent starts with a snapshot of every replica it holds, then one event per change:
 * - a stored replica the agent reports takes the agent's state;
 * - a stored replica the agent no longer has ended while nobody watched (unless it was never sent, or an operation on
 *   it is in flight and its answer will tell);
 * - what the agent runs that state does not want (unknown, or already ended in state, e.g. failed over after host
 *   loss) is a leftover to stop and remove. An exited container of an ended replica stays: it is kept for
 *   `dstack logs` until the run's sweep removes it.
 */
import type { ReplicaState } from '../model/agent-api.js';
import type { ReplicaRecord } from '../state/schema.js';
import { applyAgentRemoved, applyAgentState, isFinal } from './replica-status.js';

export interface SnapshotInput {
  /** The stored replicas placed on the agent's instance (of every run). */
  stored: readonly ReplicaRecord[];
  /** Every replica the agent holds. */
  agent: readonly ReplicaState[];
  /** Replicas with a start, stop or remove in flight: that operation's answer decides them. */
  busy: ReadonlySet<string>;
  now: number;
}

export interface Adoption {
  /** New records of stored replicas whose state the agent changed. */
  updated: ReplicaRecord[];
  /** New records of stored replicas the agent no longer has (ended). */
  removed: ReplicaRecord[];
  /** Ids of replicas the agent runs that state does not want. */
  leftovers: string[];
}

export function adoptSnapshot({ stored, agent, busy, now }: SnapshotInput): Adoption {
  const reported = new Map(agent.map((s) => [s.id, s]));
  const result: Adoption = { updated: [], removed: [], leftovers: [] };
  for (const r of stored) {
    const state = reported.get(r.id);
    if (state) {
      const one = adoptReplicaState(r, state, busy, now);
      if (one.updated) result.updated.push(one.updated);
      if (one.leftover) result.leftovers.push(r.id);
    } else if (!isFinal(r.status) && r.status !== 'submitted' && !busy.has(r.id)) {
      result.removed.push(applyAgentRemoved(r, now));
    }
  }
  const known = new Set(stored.map((r) => r.id));
  for (const state of agent) if (!known.has(state.id) && !busy.has(state.id)) result.leftovers.push(state.id);
  return result;
}

/** One replica's state as the agent reports it (an event), against its stored record if any. */
export function adoptReplicaState(
  stored: ReplicaRecord | undefined,
  state: ReplicaState,
  busy: ReadonlySet<string>,
  now: number,
): { updated?: ReplicaRecord; leftover: boolean } {
  if (stored && !isFinal(stored.status)) {
    const next = applyAgentState(stored, state, now);
    return next === stored ? { leftover: false } : { updated: next, leftover: false };
  }
  if (stored && (state.phase === 'exited' || state.phase === 'failed')) return { leftover: false };
  return { leftover: !busy.has(state.id) };
}
