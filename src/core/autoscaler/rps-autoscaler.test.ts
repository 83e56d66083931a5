import { describe, expect, it } from 'vitest';
import { decideReplicas, desiredFromRps, type ScalingPolicy } from './rps-autoscaler.js';

const policy: ScalingPolicy = { min: 0, max: 3, target: 5, windowSeconds: 60, scaleUpDelaySeconds: 300, scaleDownDelaySeconds: 600 };
const t0 = 1_000_000;

describe('desiredFromRps', () => {
  it.each([
    [0, 0],
    [0.1, 1],
    [5, 1],
    [5.01, 2],
    [10, 2],
    [14.9, 3],
    [1000, 3],
  ])('rps %f with target 5 → %i replicas (clamped to 0..3)', (rps, want) => {
    expect(desiredFromRps(rps, policy)).toBe(want);
  });

  it('honours min', () => {
    expect(desiredFromRps(0, { ...policy, min: 1 })).toBe(1);
  });
});

describe('decideReplicas', () => {
  it('scales up from zero at once, ignoring the delay', () => {
    expect(decideReplicas(policy, { current: 0, rps: 0.02, lastScaledAt: t0, now: t0 + 1000 })).toEqual({ desired: 1, reason: 'cold-start' });
  });

  it('holds scale-up until scale_up_delay has passed since the last scaling event', () => {
    const input = { current: 1, rps: 12, lastScaledAt: t0 };
    expect(decideReplicas(policy, { ...input, now: t0 + 299_000 })).toEqual({ desired: 1, reason: 'up-delayed' });
    expect(decideReplicas(policy, { ...input, now: t0 + 300_000 })).toEqual({ desired: 3, reason: 'scale-up' });
  });

  it('holds scale-down until scale_down_delay has passed', () => {
    const input = { current: 3, rps: 0, lastScaledAt: t0 };
    expect(decideReplicas(policy, { ...input, now: t0 + 599_999 })).toEqual({ desired: 3, reason: 'down-delayed' });
    expect(decideReplicas(policy, { ...input, now: t0 + 600_000 })).toEqual({ desired: 0, reason: 'scale-down' });
  });

  it('scales at once when nothing was ever scaled', () => {
    expect(decideReplicas(policy, { current: 1, rps: 11, lastScaledAt: undefined, now: t0 })).toEqual({ desired: 3, reason: 'scale-up' });
  });

  it('keeps the current count without stats, but clamps it into range', () => {
    expect(decideReplicas(policy, { current: 2, rps: undefined, lastScaledAt: undefined, now: t0 })).toEqual({ desired: 2, reason: 'no-stats' });
    expect(decideReplicas({ ...policy, max: 1 }, { current: 2, rps: undefined, lastScaledAt: undefined, now: t0 })).toEqual({ desired: 1, reason: 'clamped' });
  });

  it('is steady when the load matches the replicas', () => {
    expect(decideReplicas(policy, { current: 2, rps: 9, lastScaledAt: t0, now: t0 })).toEqual({ desired: 2, reason: 'steady' });
  });
});
