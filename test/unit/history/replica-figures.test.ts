/** The history sampler's per-replica figures: what it keeps of the agents' samples, and when it asks them. */
import { describe, expect, it } from 'vitest';
import type { RunMetrics } from '../../../src/core/api.js';
import type { ReplicaMetrics } from '../../../src/core/model/agent-metrics.js';
import { figuresOf, RunHistory, type HistoryRun } from '../../../src/daemon/runs/history.js';
import { ServiceStats } from '../../../src/proxy/stats/service-stats.js';

const MIB = 1024 * 1024;
const metrics = (over: Partial<ReplicaMetrics> = {}): ReplicaMetrics => ({
  id: 'r',
  runtime: 'docker',
  timestamp: 0,
  cpu: { percent: 12.345, cores: 2 },
  memory: { usedBytes: 100.25 * MIB, limitBytes: 1024 * MIB },
  gpus: [],
  ...over,
});
const replica = (num: number, status: string) => ({ id: `r${num}`, num, submission: 0, status, ready: true }) as unknown as HistoryRun['replicas'][number];
const run = (over: Partial<HistoryRun> = {}): HistoryRun => ({ id: 'run-1', project: 'main', name: 'svc', status: 'running', desiredReplicas: 2, replicas: [], ...over });

describe('figuresOf', () => {
  it('keeps CPU and memory, and GPU figures only when some GPU reported them', () => {
    expect(figuresOf(metrics())).toEqual({ cpu: 12.3, memoryMiB: 100.3 });
    const gpus = [
      { index: 0, id: 'a', utilizationPercent: 40, memoryUsedBytes: 1024 * MIB },
      { index: 1, id: 'b', utilizationPercent: 60 },
    ];
    expect(figuresOf(metrics({ gpus }))).toEqual({ cpu: 12.3, memoryMiB: 100.3, gpu: 50, gpuMemoryMiB: 1024 });
    expect(figuresOf(metrics({ gpus: [{ index: 0, id: 'a' }] }))).toEqual({ cpu: 12.3, memoryMiB: 100.3 });
  });
});

describe('RunHistory with replica figures', () => {
  it('puts the newest figures of running replicas in the next point, asks no run twice at once, and none that ended', async () => {
    let now = 100_000;
    const runs = [run({ replicas: [replica(0, 'running'), replica(1, 'running')] }), run({ id: 'run-2', name: 'old', status: 'terminated', replicas: [replica(0, 'terminated')] })];
    const asked: string[] = [];
    let answer: (m: RunMetrics) => void = () => undefined;
    const history = new RunHistory({
      runs: () => runs,
      stats: new ServiceStats({ clock: () => now }),
      clock: () => now,
      metrics: (r) => {
        asked.push(r.id);
        return new Promise((resolve) => (answer = resolve));
      },
    });
    const first = history.refreshReplicas();
    // Still waiting for the first answer: the run is not asked again.
    void history.refreshReplicas();
    expect(asked).toEqual(['run-1']);
    answer({
      run: 'svc',
      project: 'main',
      status: 'running',
      replicas: [
        { num: 0, submission: 0, status: 'running', metrics: metrics() },
        { num: 1, submission: 0, status: 'running', error: 'host did not answer' },
      ],
    });
    await first;
    history.sample();
    expect(history.points('main', 'svc')[0]!.replicas).toEqual({ '0': { cpu: 12.3, memoryMiB: 100.3 } });

    // Figures older than two intervals are not put in a point: the replica may be gone.
    now += 10_001;
    history.sample();
    expect(history.points('main', 'svc')[1]!.replicas).toBeUndefined();
  });
});
