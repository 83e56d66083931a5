import { describe, expect, it } from 'vitest';
import { applyHostLoss, decideHostLoss, decideInstanceRemoved, type HostLossAction } from '../../../src/core/reconcile/index.js';
import type { InstanceRecord, RunRecord } from '../../../src/core/state/schema.js';
import { replica, run } from './fixtures.js';

const host = (name: string, over: Partial<InstanceRecord> = {}): InstanceRecord => ({ name, fleet: 'gpus', backend: 'ssh', status: 'busy', unreachable: false, createdAt: 0, ...over });

const WINDOW = 30_000;
const runs: RunRecord[] = [
  run({
    status: 'running',
    desiredReplicas: 3,
    replicas: [
      replica({ num: 0, instance: 'gpus-0', backend: 'ssh' }),
      replica({ num: 1, instance: 'gpus-1', backend: 'ssh' }),
      replica({ num: 2, instance: 'gpus-0', backend: 'ssh', status: 'failed', ready: false }),
    ],
  }),
  run({ id: 'r2', name: 'old', status: 'terminated', replicas: [replica({ id: 'old-0-0', instance: 'gpus-0', status: 'running' })] }),
];

/** The replicas after carrying out `actions` at `now`. */
function carryOut(actions: HostLossAction[], now: number) {
  const all = runs.flatMap((r) => r.replicas);
  return actions.map((a) => applyHostLoss(all.find((r) => r.id === a.replicaId)!, a, now));
}

describe('decideHostLoss', () => {
  it('leaves replicas on reachable hosts alone', () => {
    expect(decideHostLoss({ runs, instances: [host('gpus-0'), host('gpus-1')], now: 100_000, windowMs: WINDOW })).toEqual([]);
  });

  it('flags the active replicas of an unreachable host while the loss window runs, and only those', () => {
    const instances = [host('gpus-0', { unreachable: true, unreachableSince: 10_000 }), host('gpus-1')];
    const actions = decideHostLoss({ runs, instances, now: 10_000 + WINDOW - 1, windowMs: WINDOW });
    expect(actions).toEqual([{ type: 'flag', replicaId: 'svc-0-0' }]);
    const [flagged] = carryOut(actions, 39_999);
    expect(flagged).toMatchObject({ status: 'running', ready: true, statusMessage: 'instance unreachable' });
  });

  it('does not flag a replica twice', () => {
    const flagged = run({ status: 'running', replicas: [replica({ instance: 'gpus-0', statusMessage: 'instance unreachable' })] });
    const instances = [host('gpus-0', { unreachable: true, unreachableSince: 0 })];
    expect(decideHostLoss({ runs: [flagged], instances, now: 1_000, windowMs: WINDOW })).toEqual([]);
  });

  it('fails them with instance_unreachable once the host has been away for the window', () => {
    const instances = [host('gpus-0', { unreachable: true, unreachableSince: 10_000 })];
    const actions = decideHostLoss({ runs, instances, now: 10_000 + WINDOW, windowMs: WINDOW });
    expect(actions).toEqual([{ type: 'fail', replicaId: 'svc-0-0', reason: 'instance_unreachable', error: 'instance gpus-0 is unreachable' }]);
    expect(carryOut(actions, 40_000)[0]).toMatchObject({
      status: 'failed',
      ready: false,
      reason: 'instance_unreachable',
      statusMessage: 'instance unreachable',
      finishedAt: 40_000,
    });
  });

  it('waits for the time of loss: an unreachable host without one is not lost yet', () => {
    const instances = [host('gpus-0', { unreachable: true })];
    expect(decideHostLoss({ runs, instances, now: 1e12, windowMs: WINDOW }).map((a) => a.type)).toEqual(['flag']);
  });
});

describe('decideInstanceRemoved', () => {
  it('fails the active replicas still on a host taken out of its fleet with instance_terminated', () => {
    const actions = decideInstanceRemoved(runs, 'gpus-1');
    expect(actions).toEqual([{ type: 'fail', replicaId: 'svc-1-0', reason: 'instance_terminated', error: 'instance gpus-1 was removed from its fleet' }]);
    const [failed] = carryOut(actions, 5);
    expect(failed).toMatchObject({ status: 'failed', reason: 'instance_terminated', finishedAt: 5 });
    expect(failed?.statusMessage).toBeUndefined();
  });
});

describe('applyHostLoss', () => {
  it('returns the record itself when there is nothing left to do (already ended, or already flagged)', () => {
    const ended = replica({ status: 'failed', ready: false });
    expect(applyHostLoss(ended, { type: 'fail', replicaId: ended.id, reason: 'instance_unreachable', error: 'x' }, 1)).toBe(ended);
    const flagged = replica({ statusMessage: 'instance unreachable' });
    expect(applyHostLoss(flagged, { type: 'flag', replicaId: flagged.id }, 1)).toBe(flagged);
  });
});
