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
    // Still ours while the view unmounts: a second Ctrl+C then must not kill the process mid-teardown (exit 130).
    await view.stop();
    process.off('SIGINT', onSigint);
  }
}
