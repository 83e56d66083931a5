/**
 * The plots' data, pure (no DOM, no Preact, so unit tests import it under Node): the history API's answer, merging
 * newer points into what a page has, and uPlot's column layout.
 */
import type { HistoryAnswer, HistoryPoint, ReplicaFigures } from '../core/api.js';
import { runPath } from './paths.js';

export type { HistoryAnswer, HistoryPoint, ReplicaFigures };

/** The run-wide figures, one line each. */
export type RunFigure = Exclude<keyof HistoryPoint, 'replicas' | 't'>;

export const HISTORY_MAX_POINTS = 720;

export const historyPath = (run: string, after?: number) => runPath(run, `/history${after === undefined ? '' : `?after=${after}`}`);

/** Appends newer points (a repeated or older `t` is dropped) and keeps the last `max`. */
export function mergePoints(old: readonly HistoryPoint[], added: readonly HistoryPoint[], max = HISTORY_MAX_POINTS): HistoryPoint[] {
  const lastT = old.at(-1)?.t ?? -Infinity;
  const fresh = added.filter((p) => p.t > lastT);
  if (fresh.length === 0) return old as HistoryPoint[];
  return [...old, ...fresh].slice(-max);
}

/** uPlot's data: the times, then one column per key. */
export function columns(points: readonly HistoryPoint[], keys: readonly (RunFigure | 't')[]): number[][] {
  return [points.map((p) => p.t), ...keys.map((k) => points.map((p) => p[k]))];
}

/** Replica labels in plot order: by group, then by number (`10` after `9`). */
const byLabel = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/**
 * One line per replica that had `figure` in any point: the labels, and uPlot's data (times, then each replica's
 * values, null where it had none: a gap, not a drop to zero, while it was not running).
 */
export function replicaColumns(points: readonly HistoryPoint[], figure: keyof ReplicaFigures): { labels: string[]; data: (number | null)[][] } {
  const labels = [...new Set(points.flatMap((p) => Object.entries(p.replicas ?? {}).filter(([, f]) => f[figure] !== undefined).map(([l]) => l)))].sort(byLabel);
  return { labels, data: [points.map((p) => p.t), ...labels.map((l) => points.map((p) => p.replicas?.[l]?.[figure] ?? null))] };
}
