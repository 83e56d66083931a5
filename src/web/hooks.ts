/**
 * Live data for the pages. Lists are polled at most once a second and only while the tab is visible (the issue's
 * floor); a run's view comes from its event stream and is re-opened after a broken connection.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type Api } from './api.js';

export interface Live<T> {
  data?: T;
  error?: string;
}

const POLL_FLOOR_MS = 1000;
const RECONNECT_MS = 2000;

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Calls `load` now and then `intervalMs` after each answer, while the page is visible; stops on unmount or when
 * `key` changes. `repeat` false: one load only (data that no longer changes).
 */
export function usePoll<T>(load: (signal: AbortSignal) => Promise<T>, intervalMs: number, key: string, repeat = true): Live<T> {
  const [state, setState] = useState<Live<T>>({});
  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let running = false;
    const tick = async (): Promise<void> => {
      timer = undefined;
      if (document.hidden || running || abort.signal.aborted) return;
      running = true;
      try {
        const data = await load(abort.signal);
        if (!abort.signal.aborted) setState({ data });
      } catch (e) {
        if (!abort.signal.aborted) setState((s) => ({ ...s, error: message(e) }));
      } finally {
        running = false;
      }
      if (repeat && !abort.signal.aborted && !document.hidden) timer = setTimeout(() => void tick(), Math.max(POLL_FLOOR_MS, intervalMs));
    };
    const onVisibility = () => {
      if (repeat && !document.hidden && timer === undefined) void tick();
    };
    document.addEventListener('visibilitychange', onVisibility);
    void tick();
    return () => {
      abort.abort();
      if (timer !== undefined) clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [key, repeat]);
  return state;
}

/**
 * The views of an event stream (`/api/runs/<name>/events`): `onView` sees each in order. The stream ends by itself
 * at a final status; a connection lost before that is opened again after a pause. A new `generation` opens it
 * again (a finished run restarted: its new submission has a stream of its own).
 */
export function useViews<T>(
  api: Api,
  path: string,
  onView: (view: T, previous: T | undefined) => void,
  isFinal: (view: T) => boolean,
  generation = 0,
): Live<T> {
  const [state, setState] = useState<Live<T>>({});
  const handler = useRef(onView);
  handler.current = onView;
  // Across generations too: the restarted run's first view is a change from the last one seen.
  const lastSeen = useRef<T | undefined>(undefined);
  useEffect(() => {
    const abort = new AbortController();
    let last: T | undefined = generation === 0 ? undefined : lastSeen.current;
    // The page keeps what it shows until the stream's first view replaces it.
    if (generation === 0) setState({});
    void (async () => {
      while (!abort.signal.aborted) {
        try {
          for await (const view of api.views<T>(path, abort.signal)) {
            handler.current(view, last);
            last = view;
            lastSeen.current = view;
            setState({ data: view });
          }
          if (last !== undefined && isFinal(last)) return;
        } catch (e) {
          if (abort.signal.aborted) return;
          setState((s) => ({ ...s, error: message(e) }));
          // No such run (or no token): asking again will not change the answer.
          if (e instanceof ApiError && (e.status === 404 || e.status === 401)) return;
        }
        await new Promise((r) => setTimeout(r, RECONNECT_MS));
      }
    })();
    return () => abort.abort();
  }, [api, path, generation]);
  return state;
}
