/**
 * Timers as a parameter (STYLE.md: a loop that takes a clock takes its scheduler too), so tests drive the reconcile
 * loop with fake time instead of sleeping. The real one uses node timers that never keep the process alive: the
 * daemon ends when its server closes, not when a loop's next tick is due.
 */
export interface Scheduler {
  /** Runs `fn` once after `ms`; the returned function cancels it (a no-op once it ran). */
  setTimeout(fn: () => void, ms: number): () => void;
}

export const nodeScheduler: Scheduler = {
  setTimeout(fn, ms) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/** Resolves after `ms` on `scheduler`'s time. */
export function sleep(scheduler: Scheduler, ms: number): Promise<void> {
  return new Promise((resolve) => scheduler.setTimeout(resolve, ms));
}
