/**
 * The Run page's plot data: `GET /api/runs/<name>/history` once (the last hour), then every 5 s only the points
 * after the last one (`?after=`), while the tab is visible and the run is active (hooks.ts usePoll).
 */
import { useRef } from 'preact/hooks';
import type { Api } from './api.js';
import { usePoll } from './hooks.js';
import { historyPath, mergePoints, type HistoryAnswer, type HistoryPoint } from './history-data.js';

export { columns, replicaColumns, type HistoryPoint, type ReplicaFigures, type RunFigure } from './history-data.js';

const REFRESH_MS = 5000;

export interface LiveHistory {
  points: HistoryPoint[];
  error?: string;
}

export function useHistory(api: Api, run: string, active: boolean): LiveHistory {
  // The points so far, kept across polls: each poll asks only for what came after the last one.
  const kept = useRef<{ run: string; points: HistoryPoint[] }>({ run, points: [] });
  if (kept.current.run !== run) kept.current = { run, points: [] };
  const live = usePoll(
    async (signal) => {
      const mine = kept.current;
      const answer = await api.get<HistoryAnswer>(historyPath(run, mine.points.at(-1)?.t), signal);
      mine.points = mergePoints(mine.points, answer.points);
      return mine.points;
    },
    REFRESH_MS,
    run,
    // A finished run gets no new points: one load is all it needs.
    active,
  );
  return { points: live.data ?? [], ...(live.error !== undefined ? { error: live.error } : {}) };
}
