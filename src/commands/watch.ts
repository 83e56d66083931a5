/**
 * The refresh loop of `-w` (`ps -w`, `metrics -w`): load, redraw in place, wait, until Ctrl+C; then the view is
 * unmounted leaving its last frame. A load in flight when Ctrl+C comes is abandoned, not reported.
 */
import type { LiveView } from '../ui/live-view.js';

export async function refreshUntilInterrupted<T>(view: LiveView<T>, load: (signal: AbortSignal) => Promise<T>, intervalMs: number): Promise<void> {
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  process.on('SIGINT', onSigint);
  try {
    while (!stop.signal.aborted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        stop.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
      if (stop.signal.aborted) break;
      const next = await load(stop.signal).then(
        (value) => ({ value }),
        (e: unknown) => {
          if (stop.signal.aborted) return undefined;
          throw e;
        },
      );
      if (next) view.update(next.value);
    }
  } finally {
    await view.stop();
    // The handler stays for the rest of this short-lived process: Ink and restore-cursor bundle their own copies of
    // signal-exit, whose listeners re-raise a SIGINT (exit 130) once they think no one else listens, so a Ctrl+C
    // arriving during teardown would turn a clean end of the watch into a kill.
    if (!stop.signal.aborted) process.off('SIGINT', onSigint);
  }
}
