import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../core/state/schema.js';
import { ServiceStats } from '../../proxy/stats/service-stats.js';
import { renderMetrics } from './metrics.js';

describe('renderMetrics', () => {
  it('renders counters, the latency summary, in-flight, replicas by status and desired replicas', () => {
    let now = 10_000;
    const stats = new ServiceStats({ clock: () => now });
    stats.onRequest('main', 'svc', now);
    stats.onRequest('main', 'svc', now);
    now += 250;
    stats.onResponse('main', 'svc', 250, 200);
    const run = {
      project: 'main', name: 'svc', status: 'running', desiredReplicas: 2,
      replicas: [
        { status: 'running', ready: true }, { status: 'provisioning', ready: false }, { status: 'terminated', ready: false },
      ],
    } as unknown as RunRecord;
    const text = renderMetrics({ runs: () => [run], stats, clock: () => now });
    expect(text).toContain('# TYPE dstack_requests_total counter\ndstack_requests_total{project="main",run="svc"} 2\n');
    expect(text).toContain('dstack_request_duration_seconds_count{project="main",run="svc"} 1\n');
    expect(text).toContain('dstack_request_duration_seconds_sum{project="main",run="svc"} 0.25\n');
    expect(text).toMatch(/dstack_request_duration_seconds\{project="main",run="svc",quantile="0.5"\} [\d.]+\n/);
    expect(text).toContain('dstack_inflight_requests{project="main",run="svc"} 1\n');
    expect(text).toContain('dstack_replicas{project="main",run="svc",status="running"} 1\n');
    expect(text).toContain('dstack_replicas{project="main",run="svc",status="ready"} 1\n');
    expect(text).toContain('dstack_replicas{project="main",run="svc",status="provisioning"} 1\n');
    expect(text).not.toContain('status="terminated"');
    expect(text).toContain('dstack_desired_replicas{project="main",run="svc"} 2\n');
  });
});
