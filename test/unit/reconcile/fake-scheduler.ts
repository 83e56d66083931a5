import type { Scheduler } from '../../../src/daemon/reconcile/scheduler.js';

/** Lets every promise chain started so far run to its next real wait (I/O or a timer). */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Fake time for loops that take a scheduler and a clock: timers fire only when the test advances it. */
export class FakeScheduler implements Scheduler {
  private current: number;
  private seq = 0;
  private timers: { at: number; seq: number; fn: () => void }[] = [];

  constructor(start = 0) {
    this.current = start;
  }

  readonly clock = (): number => this.current;

  setTimeout(fn: () => void, ms: number): () => void {
    const timer = { at: this.current + ms, seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing due timers in order and letting what each starts run before the next. */
  async advance(ms: number): Promise<void> {
    const end = this.current + ms;
    await settle();
    for (;;) {
      const next = [...this.timers].sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next || next.at > end) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.current = next.at;
      next.fn();
      await settle();
    }
    this.current = end;
    await settle();
  }
}
