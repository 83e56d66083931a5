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
import { createRunMetrics, type RunMetricsDeps } from './run-metrics.js';

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

export interface CreateRunHistoryOptions extends Omit<RunHistoryOptions, 'metrics'> {
  intervalMs?: number;
  /** The agents that `dstack metrics` asks (run-metrics.ts): with them, the points carry each replica's figures. */
  agents?: Pick<RunMetricsDeps, 'connect' | 'unreachable'>;
}

// A sample must be over before the next one is due; a host slower than that costs its replicas one point's figures.
const AGENT_TIMEOUT_MS = (HISTORY_INTERVAL_S - 1) * 1000;

export function createRunHistory(o: CreateRunHistoryOptions): RunHistoryApi {
  const agents = o.agents;
  // Asked by id, not name: a run applied again under the same name between listing and asking is another run.
  const byId =
    agents &&
    createRunMetrics({
      ...agents,
      timeoutMs: AGENT_TIMEOUT_MS,
      findRun: (id) => {
        const found = o.runs().find((r) => r.id === id);
        if (!found) throw new UserError('RUN_NOT_FOUND', 'the run is gone', { status: 404 });
        return found;
      },
    });
  const metrics = byId && ((run: { id: string }) => byId(run.id));
  const history = new RunHistory({ ...o, ...(metrics ? { metrics } : {}) });
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
