import { describe, expect, it } from 'vitest';
import type { ReplicaMetricsView, RunMetrics } from '../../../src/core/api.js';
import type { ReplicaMetrics } from '../../../src/core/model/agent-api.js';
import { formatCpu, formatGpu, formatMemory, hasRunningReplica, renderMetricsTable } from '../../../src/ui/metrics-table.js';

const GB = 1024 ** 3;
const MB = 1024 ** 2;

const sample = (over: Partial<ReplicaMetrics> = {}): ReplicaMetrics => ({
  id: 'svc-0-0',
  runtime: 'docker',
  timestamp: 0,
  cpu: { percent: 150, cores: 4 },
  memory: { usedBytes: 16.27 * GB, limitBytes: 2000 * GB },
  gpus: [],
  ...over,
});
const replica = (num: number, over: Partial<ReplicaMetricsView> = {}): ReplicaMetricsView => ({ num, submission: 0, status: 'running', metrics: sample(), ...over });
const run = (replicas: ReplicaMetricsView[], status: RunMetrics['status'] = 'running'): RunMetrics => ({ run: 'gentle-mayfly-1', project: 'main', status, replicas });

describe('figures as dstack prints them', () => {
  it('formats memory in MB below a GiB and GB above, up to two decimals without trailing zeros', () => {
    expect(formatMemory(4 * MB)).toBe('4MB');
    expect(formatMemory(580.5 * MB)).toBe('580.5MB');
    expect(formatMemory(72.48 * GB)).toBe('72.48GB');
    expect(formatMemory(80 * GB)).toBe('80GB');
    expect(formatMemory(1023.999 * MB)).toBe('1024MB');
    expect(formatMemory(1.5 * GB, 0)).toBe('2GB');
  });

  it('shows CPU as a share of the replica allowance: 150% of one core on 4 cores is 38%', () => {
    expect(formatCpu({ percent: 150, cores: 4 })).toBe('38%');
    expect(formatCpu({ percent: 91.49, cores: 1 })).toBe('91%');
  });

  it('numbers GPUs as the replica sees them and shows unreadable figures as -', () => {
    expect(formatGpu({ index: 5, id: 'GPU-x', utilizationPercent: 93, memoryUsedBytes: 71 * GB, memoryTotalBytes: 80 * GB }, 0)).toBe('gpu=0 mem=71GB/80GB util=93%');
    expect(formatGpu({ index: 0, id: 'GPU-x', memoryTotalBytes: 80 * GB }, 1)).toBe('gpu=1 mem=-/80GB util=-');
  });
});

describe('the metrics table', () => {
  it('merges a run with one replica into one row, with the run status, and GPUs after the first on rows of their own', () => {
    const gpus = [0, 1].map((i) => ({ index: i, id: `GPU-${i}`, utilizationPercent: 0, memoryUsedBytes: (i ? 64.99 : 72.48) * GB, memoryTotalBytes: 80 * GB }));
    const text = renderMetricsTable(run([replica(0, { metrics: sample({ cpu: { percent: 0, cores: 8 }, gpus }) })]));
    expect(text.split('\n')).toEqual([
      'NAME             STATUS   CPU  MEMORY          GPU',
      'gentle-mayfly-1  running   0%  16.27GB/2000GB  gpu=0 mem=72.48GB/80GB util=0%',
      '                                               gpu=1 mem=64.99GB/80GB util=0%',
    ]);
  });

  it('lists several replicas under a run row, with - for a replica that is not running yet', () => {
    const text = renderMetricsTable(run([replica(0), replica(1, { status: 'pulling', metrics: undefined })]));
    expect(text.split('\n')).toEqual([
      'NAME             STATUS   CPU  MEMORY          GPU',
      'gentle-mayfly-1  running',
      '  replica=0      running  38%  16.27GB/2000GB  -',
      '  replica=1      pulling    -  -               -',
    ]);
  });

  it('labels replicas with their group when the service has groups', () => {
    const text = renderMetricsTable(run([replica(0, { group: 'router' }), replica(1, { group: 'workers' })]));
    expect(text).toContain('  group=router replica=0');
    expect(text).toContain('  group=workers replica=1');
  });

  it('adds an ERROR column only when a host did not answer or a GPU tool failed', () => {
    expect(renderMetricsTable(run([replica(0), replica(1)]))).not.toContain('ERROR');
    const text = renderMetricsTable(run([replica(0), replica(1, { metrics: undefined, error: 'host gpu-1 is unreachable' }), replica(2, { metrics: sample({ gpuError: 'nvidia-smi is not installed on this host' }) })]));
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/GPU\s+ERROR$/);
    expect(lines[3]).toMatch(/replica=1\s+running\s+-\s+-\s+-\s+host gpu-1 is unreachable$/);
    expect(lines[4]).toMatch(/replica=2 .*nvidia-smi is not installed on this host$/);
  });

  it('tells whether any replica runs', () => {
    expect(hasRunningReplica(run([replica(0, { status: 'provisioning', metrics: undefined })], 'provisioning'))).toBe(false);
    expect(hasRunningReplica(run([], 'terminated'))).toBe(false);
    expect(hasRunningReplica(run([replica(0)]))).toBe(true);
  });
});
