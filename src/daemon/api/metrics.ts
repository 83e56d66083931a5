/**
 * `GET /metrics` in the Prometheus text exposition format (version 0.0.4). The control API router checks the
 * admin token before it calls this handler. Latency is a summary (p50/p99 over the last 60 s from the stats'
 * histogram, plus `_sum`/`_count` since start): the stats keep no cumulative buckets to build a histogram from.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isFinal, isRunFinished } from '../../core/reconcile/index.js';
import type { RunRecord } from '../../core/state/schema.js';
import type { ServiceStats } from '../../proxy/stats/service-stats.js';

export interface MetricsSource {
  runs: () => readonly RunRecord[];
  stats: Pick<ServiceStats, 'snapshot' | 'totals'>;
  clock: () => number;
}


/** Label values escape backslash, double quote and newline (Prometheus text format). */
const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (l: Record<string, string>) => `{${Object.entries(l).map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}`;

export function renderMetrics(source: MetricsSource): string {
  const now = source.clock();
  const runs = source.runs().filter((r) => !isRunFinished(r));
  const out: string[] = [];
  const family = (name: string, type: string, help: string, lines: string[]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
  };
  const per = (fn: (r: RunRecord, l: Record<string, string>) => string[]) =>
    runs.flatMap((r) => fn(r, { project: r.project, run: r.name }));

  family('dstack_requests_total', 'counter', 'Requests forwarded (or held) by the proxy.', per((r, l) =>
    [`dstack_requests_total${labels(l)} ${source.stats.totals(r.project, r.name).requests}`]));
  family('dstack_request_duration_seconds', 'summary', 'Time from request to response end.', per((r, l) => {
    const s = source.stats.snapshot(r.project, r.name, now);
    const t = source.stats.totals(r.project, r.name);
    return [
      `dstack_request_duration_seconds${labels({ ...l, quantile: '0.5' })} ${s.p50 / 1000}`,
      `dstack_request_duration_seconds${labels({ ...l, quantile: '0.99' })} ${s.p99 / 1000}`,
      `dstack_request_duration_seconds_sum${labels(l)} ${t.latencySumMs / 1000}`,
      `dstack_request_duration_seconds_count${labels(l)} ${t.responses}`,
    ];
  }));
  family('dstack_inflight_requests', 'gauge', 'Requests not answered yet.', per((r, l) =>
    [`dstack_inflight_requests${labels(l)} ${source.stats.snapshot(r.project, r.name, now).inFlight}`]));
  family('dstack_rps', 'gauge', 'Requests per second over the last 60 s.', per((r, l) =>
    [`dstack_rps${labels(l)} ${source.stats.snapshot(r.project, r.name, now).rps60}`]));
  family('dstack_replicas', 'gauge', 'Active replicas by status (ready = running and passing probes).', per((r, l) => {
    const counts = new Map<string, number>();
    for (const x of r.replicas) {
      if (isFinal(x.status)) continue;
      counts.set(x.status, (counts.get(x.status) ?? 0) + 1);
      if (x.status === 'running' && x.ready) counts.set('ready', (counts.get('ready') ?? 0) + 1);
    }
    return [...counts].map(([status, n]) => `dstack_replicas${labels({ ...l, status })} ${n}`);
  }));
  family('dstack_desired_replicas', 'gauge', 'Replicas the run should have (the autoscaler sets it).', per((r, l) =>
    [`dstack_desired_replicas${labels(l)} ${r.desiredReplicas}`]));
  return `${out.join('\n')}\n`;
}

export function createMetricsHandler(source: MetricsSource): (req: IncomingMessage, res: ServerResponse) => void {
  return (_req, res) => {
    const body = renderMetrics(source);
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
    res.end(body);
  };
}
