/**
 * The plots' data, pure (no DOM, no Preact, so unit tests import it under Node): the history API's answer, merging
 * newer points into what a page has, and uPlot's column layout.
 */
import type { HistoryAnswer, HistoryPoint } from '../core/api.js';
import { runPath } from './paths.js';

export type { HistoryAnswer, HistoryPoint };

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
export function columns(points: readonly HistoryPoint[], keys: readonly (keyof HistoryPoint)[]): number[][] {
  return [points.map((p) => p.t), ...keys.map((k) => points.map((p) => p[k]))];
}
