/**
 * `GET /api/runs/<name>/history[?after=<t>]` → `{interval: 5, points: [{t, rps, inFlight, p50, p99, desired, ready}]}`:
 * the last hour of a run's figures for the dashboard's plots (src/daemon/runs/history.ts samples them). `after`
 * (seconds, the last `t` a page has) answers only newer points, so a page appends without fetching the hour again.
 * The router resolves the project and checks access before it calls `handle`.
 */
import type { ServerResponse } from 'node:http';
import { UserError } from '../../core/errors.js';
import { HISTORY_INTERVAL_S, RunHistory, type HistoryPoint, type RunHistoryOptions } from '../runs/history.js';
import { sendJson } from './http.js';

export interface RunHistoryAnswer {
  interval: number;
  points: HistoryPoint[];
}

export interface RunHistoryApi {
  /** Starts sampling; the returned function stops it (the daemon's shutdown). */
  start(): () => void;
  /** Answers the run's points, or throws 404 RUN_NOT_FOUND (the router turns it into the error body). */
  handle(project: string, run: string, url: URL, res: ServerResponse): void;
  answer(project: string, run: string, after?: number): RunHistoryAnswer;
}

export function createRunHistory(o: RunHistoryOptions & { intervalMs?: number }): RunHistoryApi {
  const history = new RunHistory(o);
  const answer = (project: string, run: string, after?: number): RunHistoryAnswer => {
    // A run that ended keeps its points for an hour even once its record is deleted.
    if (!history.has(project, run) && !o.runs().some((r) => r.project === project && r.name === run)) {
      throw new UserError('RUN_NOT_FOUND', `Run ${run} not found`, { status: 404, hint: 'See `dstack ps -a` for runs.' });
    }
    return { interval: HISTORY_INTERVAL_S, points: history.points(project, run, after) };
  };
  return {
    start: () => history.start(o.intervalMs),
    answer,
    handle(project, run, url, res) {
      const raw = url.searchParams.get('after');
      const after = raw === null || raw === '' ? undefined : Number(raw);
      if (after !== undefined && !Number.isFinite(after)) throw new UserError('INVALID_REQUEST', '`after` must be a number of seconds since the epoch');
      sendJson(res, 200, answer(project, run, after));
    },
  };
}
