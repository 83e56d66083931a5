/**
 * Follows a run after apply until it is ready, fails, or the user presses Ctrl+C (DESIGN.md §4, dstack §6.1).
 * In a terminal the Ink view redraws; otherwise one plain line per status change goes to the stream.
 * Ctrl+C is not handled here beyond ending the watch: the command decides whether to stop the run or detach.
 */
import type { RunView } from '../core/api.js';
import { applyOutcome, progressLines, type Outcome } from './apply-progress.js';
import type { LiveView } from './live-view.js';

export type WatchResult = { run: RunView; outcome: Outcome | { kind: 'interrupted' } | { kind: 'ended' } };

export interface WatchApplyOptions {
  initial: RunView;
  /** Run snapshots until the signal aborts (the daemon client's `watch`). */
  events: (signal: AbortSignal) => AsyncIterable<RunView>;
  stream: NodeJS.WriteStream;
  tty: boolean;
  color: boolean;
  now: () => number;
  /** Subscribes to Ctrl+C; returns the unsubscribe. */
  onInterrupt: (handler: () => void) => () => void;
}

export async function watchApply(o: WatchApplyOptions): Promise<WatchResult> {
  const ac = new AbortController();
  let interrupted = false;
  const unsubscribe = o.onInterrupt(() => {
    interrupted = true;
    ac.abort();
  });
  const view: LiveView<RunView> = o.tty
    ? (await import('./apply-progress.view.js')).mountApplyProgress({ run: o.initial, stream: o.stream, color: o.color, now: o.now })
    : plainView(o.stream, o.initial);
  let run = o.initial;
  try {
    let outcome = applyOutcome(run);
    if (outcome.kind !== 'waiting') return { run, outcome };
    for await (const next of o.events(ac.signal)) {
      run = next;
      view.update(run);
      outcome = applyOutcome(run);
      if (outcome.kind !== 'waiting') return { run, outcome };
    }
    return { run, outcome: interrupted ? { kind: 'interrupted' } : { kind: 'ended' } };
  } catch (e) {
    if (interrupted) return { run, outcome: { kind: 'interrupted' } };
    throw e;
  } finally {
    unsubscribe();
    ac.abort();
    await view.stop();
  }
}

function plainView(stream: NodeJS.WriteStream, initial: RunView): LiveView<RunView> {
  let prev: RunView | undefined;
  const update = (run: RunView) => {
    for (const line of progressLines(prev, run)) stream.write(`${line}\n`);
    prev = run;
  };
  update(initial);
  return { update, stop: async () => undefined };
}
