import { describe, expect, it } from 'vitest';
import { pickReplicasToStop, type ScaleCandidate } from './scale-down.js';

describe('pickReplicasToStop', () => {
  const r = (num: number, status: ScaleCandidate['status'], ready: boolean, deployment = 1): ScaleCandidate => ({ num, status, ready, deployment });

  it('stops not-yet-ready replicas before serving ones', () => {
    const active = [r(0, 'running', true), r(1, 'provisioning', false), r(2, 'running', false)];
    expect(pickReplicasToStop(active, 2, 1).map((c) => c.num)).toEqual([1, 2]);
  });

  it('stops out-of-date deployments first', () => {
    const active = [r(0, 'running', true, 0), r(1, 'submitted', false, 1)];
    expect(pickReplicasToStop(active, 1, 1).map((c) => c.num)).toEqual([0]);
  });

  it('breaks ties by the highest replica number, and stops nothing for count 0', () => {
    const active = [r(0, 'running', true), r(1, 'running', true), r(2, 'running', true)];
    expect(pickReplicasToStop(active, 1, 1).map((c) => c.num)).toEqual([2]);
    expect(pickReplicasToStop(active, 0, 1)).toEqual([]);
  });
});
