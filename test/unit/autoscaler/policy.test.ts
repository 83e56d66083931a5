import { describe, expect, it } from 'vitest';
import { groupPolicy, lastReplicaChange, policyOf, rollingOut } from '../../../src/core/autoscaler/index.js';
import { scalingOf } from '../../helpers/configs.js';
import { replica, run, settings } from '../reconcile/fixtures.js';

describe('groupPolicy', () => {
  it("turns a group's range and normalized scaling block into the autoscaler's policy", () => {
    const scaling = scalingOf({ target: 4, window: 30, scale_up_delay: 5, scale_down_delay: 10 });
    expect(groupPolicy({ name: '0', replicas: { min: 0, max: 3 }, autoscaling: true, scaling })).toEqual({
      min: 0,
      max: 3,
      target: 4,
      windowSeconds: 30,
      scaleUpDelaySeconds: 5,
      scaleDownDelaySeconds: 10,
    });
  });

  it('gives no policy to a group with a fixed count', () => {
    expect(groupPolicy({ name: '0', replicas: { min: 2, max: 2 }, autoscaling: false })).toBeUndefined();
  });
});

describe('policyOf', () => {
  it("is the implicit group's policy for a run without groups", () => {
    const r = run({ settings: settings({ replicas: { min: 1, max: 4 }, autoscaling: true, scaling: scalingOf({ window: 300 }) }) });
    expect(policyOf(r)?.windowSeconds).toBe(300);
    expect(policyOf(run())).toBeUndefined();
  });

  it('is the first autoscaled group of a run with groups', () => {
    const groups = [
      { name: 'fixed', replicas: { min: 1, max: 1 }, autoscaling: false },
      { name: 'auto', replicas: { min: 0, max: 2 }, autoscaling: true, scaling: scalingOf({ window: 30 }) },
    ];
    expect(policyOf(run({ settings: settings({ groups }) }))?.windowSeconds).toBe(30);
  });
});

describe('lastReplicaChange', () => {
  it('is the latest submission or finish of the given replicas, undefined without any', () => {
    expect(lastReplicaChange([replica({ submittedAt: 5 }), replica({ num: 1, submittedAt: 3, finishedAt: 9 }), replica({ num: 2, submittedAt: 7 })])).toBe(9);
    expect(lastReplicaChange([])).toBeUndefined();
  });
});

describe('rollingOut', () => {
  it('is true while a live replica of the group belongs to an older deployment', () => {
    const rolling = run({ deployment: 1, replicas: [replica({ deployment: 0 }), replica({ num: 0, submission: 1, deployment: 1 })] });
    expect(rollingOut(rolling, '0')).toBe(true);
    expect(rollingOut(rolling, 'other')).toBe(false);
    const stopping = run({ deployment: 1, replicas: [replica({ deployment: 0, stop: { abort: false, reason: 'deployment_replaced', at: 1 } })] });
    expect(rollingOut(stopping, '0')).toBe(false);
  });
});
