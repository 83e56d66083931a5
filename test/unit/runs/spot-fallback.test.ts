// Spot replicas with an on-demand fallback: which capacity each replica number takes, when a spot number needs an
// on-demand cover, which covers are drained once spot capacity is back, and the reconciler carrying that out.
import { describe, expect, test } from 'vitest';
import { parseConfigObject } from '../../../src/core/config/index.js';
import { cloudFilters, fleetGives } from '../../../src/core/fleets/cloud.js';
import type { FleetConfig } from '../../../src/core/model/index.js';
import {
  capacityFor,
  COVER_DRAINED,
  decideFallback,
  instanceHasCapacity,
  placementCapacity,
  reconcileWithFallback,
  spotUnavailable,
  type FallbackPolicy,
} from '../../../src/core/runs/spot-fallback.js';
import type { InstanceRecord, ReplicaRecord } from '../../../src/core/state/schema.js';
import { serviceConfig } from '../../helpers/configs.js';
import { ctx, replica, run, settings } from '../reconcile/fixtures.js';

const policy = (onDemandBase: number, dynamic = true): FallbackPolicy => ({ onDemandBase, dynamic });
const lost = (num: number, submission = 0): ReplicaRecord =>
  replica({ num, submission, status: 'failed', ready: false, readyAt: 1, reason: 'instance_terminated', error: 'instance x was terminated outside dstack', finishedAt: 5, removed: true });
const waiting = (num: number, submission: number): ReplicaRecord => replica({ num, submission, status: 'submitted', ready: false });
const instance = (over: Partial<InstanceRecord>): InstanceRecord => ({ name: 'f-0', fleet: 'f', backend: 'aws', status: 'idle', unreachable: false, createdAt: 0, ...over });
const cloud = (spot: boolean) => ({ instanceId: 'i-1', region: 'us-east-1', instanceType: 't3.micro', spot, price: 0.01, user: 'ubuntu', sshPort: 22 });

describe('capacityFor', () => {
  test.each([
    // num, desired, base → capacity
    [0, 3, 1, 'on-demand'],
    [1, 3, 1, 'spot'],
    [2, 3, 1, 'spot'],
    [3, 3, 1, 'on-demand'], // a cover
    [0, 3, 0, 'spot'],
    [2, 3, 3, 'on-demand'],
  ] as const)('replica %i of %i with on_demand_base %i → %s', (num, desired, base, expected) => {
    expect(capacityFor(num, desired, policy(base))).toBe(expected);
  });

  test('placement asks nothing of a run without `fallback`, and by number with one', () => {
    const plain = run({ config: serviceConfig({ replicas: 3 }), desiredReplicas: 3 });
    expect(placementCapacity(plain, { num: 1 })).toBeUndefined();
    const spot = run({ config: serviceConfig({ replicas: 3, spot_policy: 'auto', fallback: { on_demand_base: 1, dynamic: true } }), desiredReplicas: 3 });
    expect([0, 1, 2, 3].map((num) => placementCapacity(spot, { num }))).toEqual(['on-demand', 'spot', 'spot', 'on-demand']);
  });

  test('spot only on spot cloud instances; SSH hosts and on-demand instances are on demand', () => {
    expect(instanceHasCapacity(instance({ cloud: cloud(true) }), 'spot')).toBe(true);
    expect(instanceHasCapacity(instance({ cloud: cloud(false) }), 'spot')).toBe(false);
    expect(instanceHasCapacity(instance({}), 'spot')).toBe(false);
    expect(instanceHasCapacity(instance({}), 'on-demand')).toBe(true);
    expect(instanceHasCapacity(instance({ cloud: cloud(true) }), 'on-demand')).toBe(false);
  });
});

describe('decideFallback', () => {
  const none = new Set<string>();
  test.each<[string, { base: number; dynamic?: boolean; replicas: ReplicaRecord[]; unavailable?: string[] }, { uncovered: number[]; covers: number; drain: string[] }]>([
    ['all ready: no cover', { base: 1, replicas: [replica({ num: 0 }), replica({ num: 1 }), replica({ num: 2 })] }, { uncovered: [], covers: 0, drain: [] }],
    ['spot replicas still booting on a first apply: no cover', { base: 1, replicas: [replica({ num: 0 }), waiting(1, 0), waiting(2, 0)] }, { uncovered: [], covers: 0, drain: [] }],
    ['a spot replica lost with its instance: one cover', { base: 1, replicas: [replica({ num: 0 }), replica({ num: 1 }), lost(2)] }, { uncovered: [2], covers: 1, drain: [] }],
    ['its spot replacement waits: still covered', { base: 1, replicas: [replica({ num: 0 }), replica({ num: 1 }), lost(2), waiting(2, 1), waiting(3, 0)] }, { uncovered: [2], covers: 1, drain: [] }],
    ['without `dynamic` a loss is seen but not covered', { base: 1, dynamic: false, replicas: [replica({ num: 0 }), replica({ num: 1 }), lost(2)] }, { uncovered: [2], covers: 0, drain: [] }],
    ['an on-demand base replica lost is not covered (it is replaced on demand)', { base: 1, replicas: [lost(0), replica({ num: 1 }), replica({ num: 2 })] }, { uncovered: [], covers: 0, drain: [] }],
    [
      'spot replacement ready again: the ready cover is drained',
      { base: 1, replicas: [replica({ num: 0 }), replica({ num: 1 }), lost(2), replica({ num: 2, submission: 1, readyAt: 9 }), replica({ num: 3 })] },
      { uncovered: [], covers: 0, drain: ['svc-3-0'] },
    ],
    [
      'the replacement was ready once and failed by itself later: no cover (the loss was recovered)',
      { base: 1, replicas: [replica({ num: 0 }), replica({ num: 1 }), lost(2), replica({ num: 2, submission: 1, readyAt: 9, status: 'failed', ready: false, reason: 'container_exited_with_error' })] },
      { uncovered: [], covers: 0, drain: [] },
    ],
    [
      'two losses, one recovered: the not-ready cover goes first',
      { base: 0, replicas: [lost(0), replica({ num: 0, submission: 1, readyAt: 9 }), lost(1), waiting(1, 1), replica({ num: 2 }), replica({ num: 3 }), replica({ num: 4, ready: false, status: 'pulling' })] },
      { uncovered: [1], covers: 1, drain: ['svc-4-0'] },
    ],
    ['no spot instance could be created for the waiting replica: covered', { base: 1, replicas: [replica({ num: 0 }), replica({ num: 1 }), waiting(2, 0)], unavailable: ['svc-2-0'] }, { uncovered: [2], covers: 1, drain: [] }],
    ['a cover being stopped is not drained twice', { base: 1, replicas: [replica({ num: 0 }), replica({ num: 1 }), replica({ num: 2 }), replica({ num: 3, ready: false, status: 'terminating', stop: { abort: false, reason: COVER_DRAINED, at: 1 } })] }, { uncovered: [], covers: 0, drain: [] }],
  ])('%s', (_name, { base, dynamic, replicas, unavailable }, expected) => {
    const plan = decideFallback({ policy: policy(base, dynamic ?? true), desired: 3, replicas, spotUnavailable: unavailable ? new Set(unavailable) : none });
    expect(plan).toEqual(expected);
  });

  test('failed spot creations count only for spot instances made for a replica', () => {
    const made = (name: string, id: string, spot: boolean | undefined, terminationReason?: string) =>
      instance({ name, status: 'terminated', forReplica: { id, requirements: {}, ...(spot !== undefined ? { spot } : {}) }, ...(terminationReason ? { terminationReason } : {}) });
    expect([...spotUnavailable([made('a', 'svc-1-0', true, 'provisioning_failed'), made('b', 'svc-2-0', false, 'provisioning_failed'), made('c', 'svc-3-0', true, 'idle_timeout'), made('d', 'svc-4-0', undefined, 'provisioning_failed')])]).toEqual(['svc-1-0']);
  });
});

describe('reconcileWithFallback', () => {
  const config = serviceConfig({ replicas: 3, spot_policy: 'auto', fallback: { on_demand_base: 1, dynamic: true } });
  const fallbackRun = (replicas: ReplicaRecord[]) =>
    run({ config, settings: settings({ replicas: { min: 3, max: 3 } }), desiredReplicas: 3, status: 'running', replicas });

  test('a preempted spot replica gets an on-demand cover at once beside its spot replacement; the stored count stays 3', () => {
    const { run: next, effects } = reconcileWithFallback(fallbackRun([replica({ num: 0 }), replica({ num: 1 }), lost(2)]), ctx(10), () => []);
    expect(next.desiredReplicas).toBe(3);
    expect(effects).toEqual([{ type: 'start', replicaId: 'svc-2-1' }, { type: 'start', replicaId: 'svc-3-0' }]);
    expect(next.replicas.filter((r) => r.status === 'submitted').map((r) => [r.num, capacityFor(r.num, 3, policy(1))])).toEqual([[2, 'spot'], [3, 'on-demand']]);
  });

  test('spot back: the cover leaves routing and is stopped with its reason; nothing new is submitted', () => {
    const input = fallbackRun([replica({ num: 0 }), replica({ num: 1 }), lost(2), replica({ num: 2, submission: 1, readyAt: 9 }), replica({ num: 3 })]);
    const { run: next, effects } = reconcileWithFallback(input, ctx(20), () => []);
    const cover = next.replicas.find((r) => r.num === 3)!;
    expect(cover).toMatchObject({ ready: false, status: 'terminating', stop: { abort: false, reason: COVER_DRAINED, at: 20 } });
    expect(effects).toEqual([{ type: 'stop', replicaId: 'svc-3-0', abort: false, timeoutSeconds: 300 }]);
    expect(next.replicas.filter((r) => r.status === 'submitted')).toEqual([]);
    expect(next.desiredReplicas).toBe(3);
  });

  test('a covered run that is settled is given back unchanged (nothing to store)', () => {
    const input = fallbackRun([replica({ num: 0 }), replica({ num: 1 }), lost(2), waiting(2, 1), replica({ num: 3 })]);
    input.statusMessage = reconcileWithFallback(input, ctx(30), () => []).run.statusMessage;
    const again = reconcileWithFallback(input, ctx(30), () => []);
    expect(again.run).toBe(input);
  });

  test('a run without `dynamic` is reconciled exactly as before', () => {
    const plain = run({ config: serviceConfig({ replicas: 3, spot_policy: 'spot', fallback: { on_demand_base: 1 } }), desiredReplicas: 3, replicas: [replica({ num: 0 }), replica({ num: 1 }), lost(2)] });
    const { run: next, effects } = reconcileWithFallback(plain, ctx(10), () => {
      throw new Error('instances are read only for dynamic fallback');
    });
    expect(effects).toEqual([{ type: 'start', replicaId: 'svc-2-1' }]);
    expect(next.replicas.some((r) => r.num === 3)).toBe(false);
  });
});

describe('cloud fleet growth for a replica with a required capacity', () => {
  const fleet = (spot_policy: string) => parseConfigObject({ type: 'fleet', name: 'gpu', nodes: '0..2', spot_policy }, 'f.yml') as FleetConfig;

  test.each([
    ['auto', true, true],
    ['auto', false, true],
    ['spot', true, true],
    ['spot', false, false],
    ['on-demand', true, false],
    ['on-demand', false, true],
  ] as const)('a `spot_policy: %s` fleet gives spot=%s: %s', (policy, spot, expected) => {
    expect(fleetGives(fleet(policy), spot)).toBe(expected);
  });

  test("the replica's capacity replaces the fleet's spot_policy in the offer filters; none keeps it", () => {
    expect(cloudFilters(fleet('auto'), undefined, true).spotPolicy).toBe('spot');
    expect(cloudFilters(fleet('auto'), undefined, false).spotPolicy).toBe('on-demand');
    expect(cloudFilters(fleet('auto')).spotPolicy).toBe('auto');
  });
});
