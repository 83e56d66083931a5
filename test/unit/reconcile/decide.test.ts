import { describe, expect, it } from 'vitest';
import { reconcileRun } from '../../../src/core/reconcile/index.js';
import { ctx, replica, run, settings } from './fixtures.js';

describe('reconcileRun: scaling', () => {
  it('submits the missing replicas of a new run and asks to start them', () => {
    const { run: next, effects } = reconcileRun(run({ desiredReplicas: 2 }), ctx(5));
    expect(next.replicas.map((r) => [r.id, r.status, r.submittedAt])).toEqual([
      ['svc-0-0', 'submitted', 5],
      ['svc-1-0', 'submitted', 5],
    ]);
    expect(effects).toEqual([
      { type: 'start', replicaId: 'svc-0-0' },
      { type: 'start', replicaId: 'svc-1-0' },
    ]);
    expect(next.status).toBe('submitted');
  });

  it('continues submission numbers from submissionBase (a new run with an old name)', () => {
    const { run: next } = reconcileRun(run({ submissionBase: 4 }), ctx(0));
    expect(next.replicas[0]?.id).toBe('svc-0-4');
  });

  it('does nothing for a run that already has its replicas running', () => {
    const input = run({ status: 'running', statusMessage: 'running', replicas: [replica()] });
    const { run: next, effects } = reconcileRun(input, ctx(10));
    expect(effects).toEqual([]);
    expect(next.replicas).toEqual(input.replicas);
    expect(next.status).toBe('running');
  });

  it('scales down the least important replica first (not ready, then the highest number)', () => {
    const input = run({
      desiredReplicas: 1,
      replicas: [replica({ num: 0 }), replica({ num: 1, ready: false, status: 'pulling' }), replica({ num: 2 })],
    });
    const { run: next, effects } = reconcileRun(input, ctx(10));
    expect(effects.map((e) => e.replicaId).sort()).toEqual(['svc-1-0', 'svc-2-0']);
    expect(next.replicas.find((r) => r.num === 0)?.stop).toBeUndefined();
    expect(next.replicas.find((r) => r.num === 2)?.stop?.reason).toBe('scaled_down');
  });
});

describe('reconcileRun: failures', () => {
  const failed = (submission: number, finishedAt: number) =>
    replica({ submission, status: 'failed', ready: false, finishedAt, error: `boom ${submission}`, reason: 'container_exited_with_error' });

  it('replaces a failed replica only after the backoff', () => {
    const input = run({ replicas: [failed(0, 100)] });
    expect(reconcileRun(input, ctx(100 + 999)).run.replicas).toHaveLength(1);
    const { run: next, effects } = reconcileRun(input, ctx(100 + 1000));
    expect(next.replicas.map((r) => r.id)).toEqual(['svc-0-0', 'svc-0-1']);
    // The failed container is removed once a newer submission takes its number.
    expect(effects).toEqual([{ type: 'start', replicaId: 'svc-0-1' }, { type: 'remove', replicaId: 'svc-0-0' }]);
  });

  it('keeps the run pending (retrying) while waiting, and does not fail it', () => {
    const { run: next } = reconcileRun(run({ replicas: [failed(0, 100)] }), ctx(200));
    expect(next.status).toBe('pending');
    expect(next.statusMessage).toBe('retrying');
  });

  it('backs off longer after consecutive failures (1x, 2x, 4x the base)', () => {
    const input = run({ replicas: [failed(0, 0), failed(1, 100)] });
    expect(reconcileRun(input, ctx(100 + 1999)).run.replicas).toHaveLength(2);
    expect(reconcileRun(input, ctx(100 + 2000)).run.replicas).toHaveLength(3);
  });

  it('fails the run after 3 failures in a row that never became ready (crash-loop guard)', () => {
    const input = run({ replicas: [failed(0, 0), failed(1, 10), failed(2, 20)] });
    const { run: next, effects } = reconcileRun(input, ctx(100_000));
    expect(effects).toEqual(['svc-0-0', 'svc-0-1', 'svc-0-2'].map((replicaId) => ({ type: 'remove', replicaId })));
    expect(next.status).toBe('failed');
    expect(next.terminationReason).toBe('job_failed');
    expect(next.error).toBe('boom 2');
  });

  it('keeps retrying within `retry.duration` when retry covers errors', () => {
    const input = run({
      settings: settings({ retry: { onEvents: ['error'], durationSeconds: 3600 } }),
      replicas: [failed(0, 0), failed(1, 10), failed(2, 20)],
    });
    const { run: next } = reconcileRun(input, ctx(100_000));
    expect(next.status).not.toBe('failed');
    expect(next.replicas.some((r) => r.status === 'submitted')).toBe(true);
    const late = reconcileRun(input, ctx(3_700_000)).run;
    expect(late.status).toBe('failed');
    expect(late.terminationReason).toBe('retry_limit_exceeded');
  });

  it('a replica that was ready once resets the failure count', () => {
    const input = run({ replicas: [failed(0, 0), failed(1, 10), replica({ submission: 2, status: 'failed', readyAt: 5, finishedAt: 30 })] });
    const { run: next } = reconcileRun(input, ctx(100_000));
    expect(next.status).not.toBe('failed');
  });
});

describe('reconcileRun: rolling deployment (max surge 1)', () => {
  it('starts one new replica while the old one keeps serving', () => {
    const input = run({ deployment: 1, desiredReplicas: 1, replicas: [replica({ deployment: 0 })] });
    const { run: next, effects } = reconcileRun(input, ctx(10));
    expect(effects).toEqual([{ type: 'start', replicaId: 'svc-0-1' }]);
    expect(next.replicas.find((r) => r.id === 'svc-0-0')?.stop).toBeUndefined();
  });

  it('does not stop the old replica until the new one is ready', () => {
    const input = run({
      deployment: 1,
      replicas: [replica({ deployment: 0 }), replica({ submission: 1, deployment: 1, status: 'running', ready: false })],
    });
    const { effects } = reconcileRun(input, ctx(10));
    expect(effects).toEqual([]);
  });

  it('stops the old replica once the new one is ready', () => {
    const input = run({
      deployment: 1,
      replicas: [replica({ deployment: 0 }), replica({ submission: 1, deployment: 1 })],
    });
    const { run: next, effects } = reconcileRun(input, ctx(10));
    expect(effects).toEqual([{ type: 'stop', replicaId: 'svc-0-0', abort: false, timeoutSeconds: 300 }]);
    expect(next.replicas.find((r) => r.id === 'svc-0-0')?.stop?.reason).toBe('deployment_replaced');
  });

  it('with 2 replicas replaces them one at a time', () => {
    const old = [replica({ num: 0 }), replica({ num: 1 })];
    let r = run({ deployment: 1, desiredReplicas: 2, replicas: old });
    r = reconcileRun(r, ctx(1)).run;
    expect(r.replicas.filter((x) => x.deployment === 1)).toHaveLength(1);
    // The new replica becomes ready: one old one stops, the next new one starts.
    r = { ...r, replicas: r.replicas.map((x) => (x.deployment === 1 ? { ...x, status: 'running' as const, ready: true } : x)) };
    r = reconcileRun(r, ctx(2)).run;
    expect(r.replicas.filter((x) => x.deployment === 0 && !x.stop)).toHaveLength(1);
    expect(r.replicas.filter((x) => x.deployment === 1)).toHaveLength(2);
  });

  it('does not fail the run while old replicas still serve, even if new ones crash-loop', () => {
    const bad = (s: number) => replica({ submission: s, deployment: 1, status: 'failed', ready: false, finishedAt: s });
    const input = run({ deployment: 1, replicas: [replica({ deployment: 0 }), bad(1), bad(2), bad(3)] });
    const { run: next } = reconcileRun(input, ctx(1_000_000));
    expect(next.status).toBe('running');
    expect(next.replicas.find((r) => r.id === 'svc-0-0')?.stop).toBeUndefined();
  });
});

describe('reconcileRun: ending', () => {
  it('stop: stops every replica with stop_duration, then the run is terminated', () => {
    const input = run({ terminationReason: 'stopped_by_user', replicas: [replica()] });
    const { run: next, effects } = reconcileRun(input, ctx(10));
    expect(effects).toEqual([{ type: 'stop', replicaId: 'svc-0-0', abort: false, timeoutSeconds: 300 }]);
    expect(next.status).toBe('terminating');
    const done = reconcileRun({ ...next, replicas: next.replicas.map((r) => ({ ...r, status: 'terminated' as const })) }, ctx(20)).run;
    expect(done.status).toBe('terminated');
    expect(done.finishedAt).toBe(20);
  });

  it('an ending run sweeps its finished replicas that are not removed yet', () => {
    const input = run({
      terminationReason: 'stopped_by_user',
      replicas: [replica({ status: 'failed', ready: false }), replica({ submission: 1, status: 'terminated', ready: false, removed: true })],
    });
    expect(reconcileRun(input, ctx(10)).effects).toEqual([{ type: 'remove', replicaId: 'svc-0-0' }]);
  });

  it('abort: kills at once (timeout 0)', () => {
    const { effects } = reconcileRun(run({ terminationReason: 'aborted_by_user', replicas: [replica()] }), ctx(10));
    expect(effects).toEqual([{ type: 'stop', replicaId: 'svc-0-0', abort: true, timeoutSeconds: 0 }]);
  });

  it('a replica never sent to an agent just ends', () => {
    const input = run({ terminationReason: 'stopped_by_user', replicas: [replica({ status: 'submitted', ready: false })] });
    const { run: next, effects } = reconcileRun(input, ctx(10));
    expect(effects).toEqual([]);
    expect(next.status).toBe('terminated');
  });

  it('max_duration ends the run', () => {
    const input = run({ settings: settings({ maxDurationSeconds: 60 }), replicas: [replica()] });
    expect(reconcileRun(input, ctx(60_000)).run.terminationReason).toBeUndefined();
    const next = reconcileRun(input, ctx(60_001)).run;
    expect(next.terminationReason).toBe('max_duration_exceeded');
    expect(next.status).toBe('terminating');
  });

  it('a replica exiting 0 by itself is replaced like a failure (a service runs until stopped)', () => {
    const input = run({ replicas: [replica({ status: 'done', ready: false, finishedAt: 5 })] });
    const { run: next } = reconcileRun(input, ctx(5 + 1000));
    expect(next.status).toBe('submitted');
    expect(next.replicas.map((r) => [r.id, r.status])).toEqual([['svc-0-0', 'done'], ['svc-0-1', 'submitted']]);
  });

  it('zero desired replicas → pending, waiting for requests', () => {
    const next = reconcileRun(run({ desiredReplicas: 0 }), ctx(10)).run;
    expect(next.status).toBe('pending');
    expect(next.replicas).toEqual([]);
  });
});
