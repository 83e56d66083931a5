/**
 * The Run page's plot data: `GET /api/runs/<name>/history` once (the last hour), then every 5 s only the points
 * after the last one (`?after=`), while the tab is visible.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Api } from './api.js';
import { historyPath, mergePoints, type HistoryAnswer, type HistoryPoint } from './history-data.js';

export { columns, replicaColumns, type HistoryPoint, type ReplicaFigures, type RunFigure } from './history-data.js';

const REFRESH_MS = 5000;

export interface LiveHistory {
  points: HistoryPoint[];
  error?: string;
}

export function useHistory(api: Api, run: string, active: boolean): LiveHistory {
  const [state, setState] = useState<LiveHistory>({ points: [] });
  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let points: HistoryPoint[] = [];
    let running = false;
    const tick = async (): Promise<void> => {
      timer = undefined;
      if (document.hidden || running || abort.signal.aborted) return;
      running = true;
      try {
        const answer = await api.get<HistoryAnswer>(historyPath(run, points.at(-1)?.t), abort.signal);
        points = mergePoints(points, answer.points);
        if (!abort.signal.aborted) setState({ points });
      } catch (e) {
        if (!abort.signal.aborted) setState({ points, error: e instanceof Error ? e.message : String(e) });
      } finally {
        running = false;
      }
      // A finished run gets no new points: one load is all it needs.
      if (active && !abort.signal.aborted && !document.hidden) timer = setTimeout(() => void tick(), REFRESH_MS);
    };
    const onVisibility = () => {
      if (active && !document.hidden && timer === undefined) void tick();
    };
    document.addEventListener('visibilitychange', onVisibility);
    void tick();
    return () => {
      abort.abort();
      if (timer !== undefined) clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [api, run, active]);
  return state;
}
