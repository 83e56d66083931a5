import { describe, expect, it } from 'vitest';
import { reconcileRun } from '../../../src/core/reconcile/index.js';
import type { RunRecord } from '../../../src/core/state/schema.js';
import { ctx, replica, run, settings } from './fixtures.js';
import { scalingOf } from '../../helpers/configs.js';

const grouped = (over: Partial<RunRecord> = {}): RunRecord =>
  run({
    settings: settings({
      replicas: { min: 1, max: 4 },
      autoscaling: true,
      groups: [
        { name: 'web', replicas: { min: 0, max: 3 }, autoscaling: true, scaling: scalingOf() },
        { name: 'batch', replicas: { min: 1, max: 1 }, autoscaling: false },
      ],
    }),
    desiredReplicas: 1,
    ...over,
  });

const live = (r: RunRecord) => r.replicas.filter((x) => !x.stop && !['terminated', 'aborted', 'failed', 'done'].includes(x.status));

describe('reconcileRun with replica groups', () => {
  it('submits each group up to its desired count, labelled with the group, numbers unique across the run', () => {
    const { run: next, effects } = reconcileRun(grouped({ desiredByGroup: { web: 2 } }), ctx(5));
    expect(next.replicas.map((r) => [r.id, r.group])).toEqual([
      ['svc-0-0', 'web'],
      ['svc-1-0', 'web'],
      ['svc-3-0', 'batch'],
    ]);
    expect(effects.map((e) => e.type)).toEqual(['start', 'start', 'start']);
    // The run's total follows the groups.
    expect(next.desiredReplicas).toBe(3);
  });

  it('scales one group down, within the group, leaving the other alone', () => {
    const input = grouped({
      desiredByGroup: { web: 1, batch: 1 },
      replicas: [
        replica({ num: 0, group: 'web' }),
        replica({ num: 1, group: 'web', status: 'provisioning', ready: false }),
        replica({ num: 3, group: 'batch', status: 'provisioning', ready: false }),
      ],
    });
    const { run: next } = reconcileRun(input, ctx(10));
    expect(next.replicas.filter((r) => r.stop).map((r) => [r.num, r.stop?.reason])).toEqual([[1, 'scaled_down']]);
    expect(live(next).map((r) => r.num)).toEqual([0, 3]);
  });

  it('a group scaled to zero keeps the fixed group running', () => {
    const input = grouped({
      desiredByGroup: { web: 0, batch: 1 },
      replicas: [replica({ num: 0, group: 'web' }), replica({ num: 3, group: 'batch' })],
    });
    const { run: next } = reconcileRun(input, ctx(10));
    expect(live(next).map((r) => [r.num, r.group])).toEqual([[3, 'batch']]);
    expect(next.desiredReplicas).toBe(1);
  });

  it('rolls each group with max surge 1: one new replica per group while the old ones serve', () => {
    const input = grouped({
      deployment: 1,
      desiredByGroup: { web: 1, batch: 1 },
      replicas: [replica({ num: 0, group: 'web' }), replica({ num: 3, group: 'batch' })],
    });
    const { run: next, effects } = reconcileRun(input, ctx(10));
    expect(effects).toEqual([
      { type: 'start', replicaId: 'svc-0-1' },
      { type: 'start', replicaId: 'svc-3-1' },
    ]);
    expect(next.replicas.filter((r) => r.stop)).toEqual([]);

    // The web group's new replica is ready: its old one stops; batch still waits for its own.
    const after = {
      ...next,
      replicas: next.replicas.map((r) => (r.id === 'svc-0-1' ? { ...r, status: 'running' as const, ready: true } : r)),
    };
    const { run: rolled } = reconcileRun(after, ctx(20));
    expect(rolled.replicas.filter((r) => r.stop).map((r) => [r.id, r.stop?.reason])).toEqual([['svc-0-0', 'deployment_replaced']]);
  });

  it('stops the replicas of a group the configuration no longer has', () => {
    const input = grouped({ desiredByGroup: { web: 0, batch: 1 }, replicas: [replica({ num: 7, group: 'gone' }), replica({ num: 3, group: 'batch' })] });
    const { run: next } = reconcileRun(input, ctx(10));
    expect(next.replicas.filter((r) => r.stop).map((r) => r.num)).toEqual([7]);
  });

  it('a plain service moving to groups keeps its ready replicas serving until the groups\' replicas are ready', () => {
    // Two ready replicas of the plain service (no group label); the new groups want web 1 + batch 1.
    const input = grouped({
      deployment: 1,
      desiredByGroup: { web: 1, batch: 1 },
      replicas: [replica({ num: 0 }), replica({ num: 1 }), replica({ num: 2, status: 'provisioning', ready: false })],
    });
    const { run: next } = reconcileRun(input, ctx(10));
    // The one that serves nothing stops at once; both ready ones keep serving while web and batch start.
    expect(next.replicas.filter((r) => r.stop).map((r) => r.num)).toEqual([2]);
    expect(next.replicas.filter((r) => !r.stop && r.group !== undefined).map((r) => r.group).sort()).toEqual(['batch', 'web']);

    const readyOne = (r: RunRecord, id: string) => ({ ...r, replicas: r.replicas.map((x) => (x.id === id ? { ...x, status: 'running' as const, ready: true } : x)) });
    const webId = next.replicas.find((r) => r.group === 'web')!.id;
    const { run: half } = reconcileRun(readyOne(next, webId), ctx(20));
    // One group replica ready → one old replica retired (the higher number first); the other still serves.
    expect(half.replicas.filter((r) => r.stop && r.group === undefined).map((r) => r.num).sort()).toEqual([1, 2]);
    const batchId = half.replicas.find((r) => r.group === 'batch')!.id;
    const { run: done } = reconcileRun(readyOne(half, batchId), ctx(30));
    expect(done.replicas.filter((r) => r.group === undefined).every((r) => r.stop)).toBe(true);
  });

  it('a replica failing mid-scale is replaced in its group after the backoff, on its own number', () => {
    const input = grouped({
      desiredByGroup: { web: 2, batch: 1 },
      replicas: [
        replica({ num: 0, group: 'web' }),
        replica({ num: 1, group: 'web', status: 'failed', ready: false, finishedAt: 100 }),
        replica({ num: 3, group: 'batch' }),
      ],
    });
    // Backoff: one base (1 s in the fixtures' context) after the failure; until then no other number is taken.
    expect(reconcileRun(input, ctx(1_000)).effects).toEqual([]);
    const { run: next, effects } = reconcileRun(input, ctx(1_100));
    expect(effects.filter((e) => e.type === 'start')).toEqual([{ type: 'start', replicaId: 'svc-1-1' }]);
    expect(next.replicas.find((r) => r.id === 'svc-1-1')?.group).toBe('web');
  });

  it('a run without groups keeps unlabelled records, as before groups existed', () => {
    const { run: next } = reconcileRun(run({ desiredReplicas: 1 }), ctx(0));
    expect(next.replicas.map((r) => 'group' in r)).toEqual([false]);
  });
});
