/**
 * Whether each fleet host answers (host loss, issue 5). The SSH backend reports its connection dropping and coming
 * back, the reconcile loop reports an agent's event stream failing and its snapshot arriving; the instance record
 * keeps `unreachable` and since when, and listeners (fleet views, the reconcile loop) hear of every change. Created
 * before everything that reports or listens, so none of them needs another to exist first.
 */
import type { StateStore } from '../../core/state/store.js';

export type ReachabilityListener = (instance: string, fleet: string | undefined) => void;

export interface ReachabilityOptions {
  store: StateStore;
  clock: () => number;
  log: (line: string) => void;
}

export class Reachability {
  private readonly listeners = new Set<ReachabilityListener>();

  constructor(private readonly o: ReachabilityOptions) {}

  /** Records a change (nothing happens when the record already says so); returns the unsubscribe. */
  subscribe(listener: ReachabilityListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  set(instance: string, reachable: boolean, error?: Error): void {
    const rec = this.o.store.instance(instance);
    if (!rec || rec.unreachable === !reachable) return;
    this.o.log(`instance ${instance} ${reachable ? 'is reachable again' : `is unreachable${error ? `: ${error.message}` : ''}`}`);
    this.o.store.updateInstance(instance, ({ unreachableSince: _, ...rest }) =>
      reachable ? { ...rest, unreachable: false } : { ...rest, unreachable: true, unreachableSince: this.o.clock() },
    );
    for (const listener of this.listeners) listener(instance, rec.fleet);
  }
}
