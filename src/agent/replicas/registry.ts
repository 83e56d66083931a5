import type { AgentEvent, ReplicaSpec, ReplicaState } from '../../core/model/agent-api.js';

export type Listener = (event: AgentEvent) => void;

/** Phases after which a replica never changes again (except being forgotten). */
export const TERMINAL_PHASES: ReadonlySet<ReplicaState['phase']> = new Set(['exited', 'failed']);

export const isTerminal = (state: ReplicaState): boolean => TERMINAL_PHASES.has(state.phase);

interface Entry {
  state: ReplicaState;
  /** Absent for adopted replicas whose full spec (env, auth) was never stored. */
  spec: ReplicaSpec | undefined;
}

/**
 * The agent's in-memory view of its replicas and the one place that emits status changes, so that
 * `/api/events` subscribers see every transition exactly once and in order.
 */
export class ReplicaRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<Listener>();

  get(id: string): ReplicaState | undefined {
    return this.entries.get(id)?.state;
  }

  spec(id: string): ReplicaSpec | undefined {
    return this.entries.get(id)?.spec;
  }

  list(): ReplicaState[] {
    return [...this.entries.values()].map((e) => e.state);
  }

  /** Adds or replaces a replica and announces it. */
  put(state: ReplicaState, spec?: ReplicaSpec): ReplicaState {
    this.entries.set(state.id, { state, spec });
    this.emit({ type: 'replica', replica: state });
    return state;
  }

  /** Applies a patch; returns the new state, or undefined when the replica is unknown. */
  patch(id: string, patch: Partial<ReplicaState>): ReplicaState | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    const state = { ...entry.state, ...patch, id };
    entry.state = state;
    this.emit({ type: 'replica', replica: state });
    return state;
  }

  remove(id: string): void {
    if (this.entries.delete(id)) this.emit({ type: 'removed', id });
  }

  /** Subscribes to changes; returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: AgentEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
