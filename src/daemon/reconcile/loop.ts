/**
 * When the reconciler ticks: every `intervalMs`, and at once when kicked (an agent event, an API change). Ticks never
 * overlap: kicks during a tick coalesce into exactly one more tick after it, so a burst of events costs one pass and
 * no event is missed (the pass after it sees everything they changed). A kicked tick starts on the next microtask,
 * never inside its caller: code that writes several records in a row is not interrupted by a pass over half of them.
 */
import type { Scheduler } from './scheduler.js';

export interface TickLoopOptions {
  scheduler: Scheduler;
  intervalMs: number;
  tick: () => Promise<void>;
  /** A tick threw: the loop goes on (the next tick decides again from state). */
  onError: (e: unknown) => void;
}

export class TickLoop {
  private running: Promise<void> | undefined;
  /** The tick asked for has begun (kicks before that are already covered by it). */
  private begun = false;
  private again = false;
  private closed = false;
  private cancelTimer: (() => void) | undefined;

  constructor(private readonly o: TickLoopOptions) {}

  /** Ticks now, then every `intervalMs` until closed. */
  start(): void {
    this.arm();
    this.kick();
  }

  /** Asks for a tick now, or for one more right after the tick in progress. */
  kick(): void {
    if (this.closed) return;
    if (this.running) {
      if (this.begun) this.again = true;
      return;
    }
    this.begun = false;
    this.running = Promise.resolve()
      .then(() => {
        if (this.closed) return;
        this.begun = true;
        return this.o.tick();
      })
      .catch((e: unknown) => this.o.onError(e))
      .finally(() => {
        this.running = undefined;
        if (!this.again) return;
        this.again = false;
        this.kick();
      });
  }

  /** No tick starts after this; resolves once the one in progress ended. */
  async close(): Promise<void> {
    this.closed = true;
    this.cancelTimer?.();
    await this.running;
  }

  private arm(): void {
    if (this.closed) return;
    this.cancelTimer = this.o.scheduler.setTimeout(() => {
      this.kick();
      this.arm();
    }, this.o.intervalMs);
  }
}
