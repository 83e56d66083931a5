import { describe, expect, it } from 'vitest';
import type { ReplicaMetrics } from '../../../src/core/model/agent-api.js';
import { activeReplicas, createRunMetrics, type RunMetricsDeps } from '../../../src/daemon/api/run-metrics.js';
import { replica, run } from '../reconcile/fixtures.js';

const figures = (id: string): ReplicaMetrics => ({ id, runtime: 'docker', timestamp: 1, cpu: { percent: 50, cores: 2 }, memory: { usedBytes: 10, limitBytes: 100 }, gpus: [] });

/** A fake of the loop's agent connections: each instance answers, fails, or never answers. */
function agents(behaviour: Record<string, 'ok' | 'fail' | 'hang'>): RunMetricsDeps['connect'] & { asked: string[] } {
  const asked: string[] = [];
  const connect = (async (instance: string) => {
    asked.push(instance);
    const b = behaviour[instance];
    if (b === 'fail') throw new Error(`agent at ${instance} is unreachable (ECONNREFUSED)`);
    return {
      client: {
        replicaMetrics: (id: string, signal?: AbortSignal) =>
          b === 'hang' ? new Promise<ReplicaMetrics>((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')))) : Promise.resolve(figures(id)),
      },
    };
  }) as RunMetricsDeps['connect'] & { asked: string[] };
  connect.asked = asked;
  return connect;
}

describe('which replicas `dstack metrics` lists', () => {
  it('takes the newest submission of each replica number and leaves out ended ones', () => {
    const r = run({
      status: 'running',
      replicas: [
        replica({ num: 0, submission: 0, status: 'failed' }),
        replica({ num: 0, submission: 1, status: 'running' }),
        replica({ num: 1, submission: 0, status: 'pulling' }),
        replica({ num: 2, submission: 0, status: 'terminated' }),
      ],
    });
    expect(activeReplicas(r).map((x) => [x.num, x.submission, x.status])).toEqual([[0, 1, 'running'], [1, 0, 'pulling']]);
  });

  it('lists none for a run that ended', () => {
    expect(activeReplicas(run({ status: 'terminated', replicas: [replica({ status: 'running' })] }))).toEqual([]);
  });
});

describe('GET /api/runs/:name/metrics', () => {
  it('asks each running replica host in parallel and keeps the answer of the others when one host fails, hangs or is known unreachable', async () => {
    const r = run({
      status: 'running',
      replicas: [
        replica({ num: 0, instance: 'a' }),
        replica({ num: 1, instance: 'b' }),
        replica({ num: 2, instance: 'c' }),
        replica({ num: 3, instance: 'd' }),
        replica({ num: 4, instance: 'a', status: 'provisioning', group: 'workers' }),
      ],
    });
    const connect = agents({ a: 'ok', b: 'fail', c: 'hang', d: 'ok' });
    const metrics = createRunMetrics({ findRun: () => r, connect, unreachable: (i) => i === 'd', timeoutMs: 200 });
    const answer = await metrics('svc');
    expect(answer.run).toBe('svc');
    expect(answer.replicas.map((x) => [x.num, x.metrics?.id, x.error])).toEqual([
      [0, 'svc-0-0', undefined],
      [1, undefined, 'agent at b is unreachable (ECONNREFUSED)'],
      [2, undefined, 'host c did not answer within 200 ms'],
      [3, undefined, 'host d is unreachable'],
      [4, undefined, undefined],
    ]);
    expect(answer.replicas[4]).toMatchObject({ status: 'provisioning', group: 'workers', instance: 'a' });
    // Neither the replica still provisioning nor the host known to be off the network is asked.
    expect(connect.asked.sort()).toEqual(['a', 'b', 'c']);
  });

  it('passes on the unknown-run error of findRun', async () => {
    const metrics = createRunMetrics({
      findRun: (name) => {
        throw new Error(`Run ${name} not found`);
      },
      connect: agents({}),
    });
    await expect(metrics('nope')).rejects.toThrow('Run nope not found');
  });
});
