import { describe, expect, it } from 'vitest';
import { parseConfigObject } from '../config/load.js';
import type { FleetConfig } from '../model/fleet.js';
import type { InstanceRecord } from '../state/schema.js';
import { canGrow, cloudFilters, decideIdle, decideReplenish, decideSweep, diskGiB, fleetNodes, idleDurationMs, instancesToCreate, intersectRequirements, nextInstanceName } from './cloud.js';

const GB = 1024 ** 3;

function fleet(extra: Record<string, unknown> = {}): FleetConfig {
  const config = parseConfigObject({ type: 'fleet', name: 'gpu', nodes: '0..2', ...extra }, 'fleet.yml');
  if (config.type !== 'fleet') throw new Error('not a fleet');
  return config;
}

const instance = (name: string, over: Partial<InstanceRecord> = {}): InstanceRecord => ({
  name,
  fleet: 'gpu',
  backend: 'aws',
  status: 'idle',
  unreachable: false,
  createdAt: 0,
  ...over,
});

describe('cloud fleet configuration', () => {
  it('reads nodes as dstack does: a range applies min, a number is fixed, target is what apply creates', () => {
    expect(fleetNodes(fleet())).toEqual({ min: 0, target: 0, max: 2 });
    expect(fleetNodes(fleet({ nodes: 3 }))).toEqual({ min: 3, target: 3, max: 3 });
    expect(fleetNodes(fleet({ nodes: '1..' }))).toEqual({ min: 1, target: 1 });
    expect(fleetNodes(fleet({ nodes: { min: 1, target: 2, max: 4 } }))).toEqual({ min: 1, target: 2, max: 4 });
    expect(fleetNodes(fleet({ nodes: undefined, ssh_config: { user: 'u', identity_file: '/k', hosts: ['h'] } }))).toBeUndefined();
  });

  it('idle_duration defaults to 3 days for fleets; off never terminates', () => {
    expect(idleDurationMs(fleet())).toBe(3 * 24 * 3600 * 1000);
    expect(idleDurationMs(fleet({ idle_duration: '10s' }))).toBe(10_000);
    expect(idleDurationMs(fleet({ idle_duration: 'off' }))).toBeUndefined();
  });

  it('offers come from the fleet\'s resources and profile, narrowed by a waiting replica\'s requirements', () => {
    const config = fleet({ resources: { cpu: '4..16', memory: '16GB..', disk: '200GB', gpu: 'A100,H100:1..2' }, backends: ['aws'], regions: ['us-east-1'], spot_policy: 'auto', max_price: 3 });
    const own = cloudFilters(config);
    expect(own).toMatchObject({ backends: ['aws'], regions: ['us-east-1'], spotPolicy: 'auto', maxPrice: 3 });
    expect(own.requirements.cpu).toEqual({ min: 4, max: 16 });
    const narrowed = cloudFilters(config, { cpu: { min: 8 }, memoryBytes: { min: 8 * GB }, diskBytes: { min: 10 * GB }, gpu: { count: { min: 2 }, names: ['h100'] } });
    expect(narrowed.requirements.cpu).toEqual({ min: 8, max: 16 });
    expect(narrowed.requirements.memoryBytes).toEqual({ min: 16 * GB });
    expect(narrowed.requirements.gpu).toMatchObject({ count: { min: 2, max: 2 }, names: ['H100'] });
    expect(diskGiB(narrowed)).toBe(200);
    expect(diskGiB({ requirements: { cpu: {}, memoryBytes: {}, diskBytes: {}, gpu: { count: {} } } })).toBe(100);
  });

  it('intersecting requirements that cannot both hold leaves an empty range (no offer fits)', () => {
    const both = intersectRequirements(
      { cpu: { max: 4 }, memoryBytes: {}, diskBytes: {}, gpu: { count: { max: 0 } } },
      { cpu: { min: 8 }, memoryBytes: {}, diskBytes: {}, gpu: { count: { min: 1 }, names: ['A100'] } },
    );
    expect(both.cpu).toEqual({ min: 8, max: 4 });
    expect(both.gpu.count).toEqual({ min: 1, max: 0 });
  });
});

describe('cloud fleet decisions', () => {
  it('apply creates up to target; growth stops at max; names keep counting past ended instances', () => {
    expect(instancesToCreate({ min: 2, target: 2, max: 4 }, 0)).toBe(2);
    expect(instancesToCreate({ min: 2, target: 2, max: 4 }, 3)).toBe(0);
    expect(canGrow({ min: 0, target: 0, max: 1 }, 0)).toBe(true);
    expect(canGrow({ min: 0, target: 0, max: 1 }, 1)).toBe(false);
    expect(canGrow({ min: 0, target: 0 }, 50)).toBe(true);
    expect(nextInstanceName('gpu', [])).toBe('gpu-0');
    expect(nextInstanceName('gpu', [instance('gpu-0', { status: 'terminated' }), instance('gpu-1'), instance('gpu-x-7', { fleet: 'gpu-x' })])).toBe('gpu-2');
  });

  it('marks idle and busy again, and terminates instances idle past idle_duration, oldest first, never below min', () => {
    const instances = [
      instance('gpu-0', { idleSince: 1_000 }),
      instance('gpu-1', { idleSince: 2_000 }),
      instance('gpu-2'),
      instance('gpu-3', { idleSince: 500 }),
      instance('gpu-4', { status: 'provisioning' }),
    ];
    const d = decideIdle({ instances, used: new Set(['gpu-3']), nodes: { min: 3, target: 3, max: 6 }, idleMs: 10_000, now: 12_500 });
    expect(d.idleFrom).toEqual(['gpu-2']);
    expect(d.busyAgain).toEqual(['gpu-3']);
    // 5 live, min 3: two may go; gpu-0 and gpu-1 expired (gpu-1 exactly at 10 s).
    expect(d.terminate).toEqual(['gpu-0', 'gpu-1']);
    expect(decideIdle({ instances, used: new Set(), nodes: { min: 4, target: 4 }, idleMs: 10_000, now: 12_500 }).terminate).toEqual(['gpu-3']);
    expect(decideIdle({ instances, used: new Set(), nodes: { min: 0, target: 0 }, idleMs: undefined, now: 1e12 }).terminate).toEqual([]);
  });

  it('sweeps tagged instances no record owns, but not one this process is creating', () => {
    const cloud = (id: string) => ({ instanceId: id, region: 'us-east-1', instanceType: 't3.small', spot: false, price: 0.02, user: 'ubuntu', sshPort: 22 });
    const records = [
      instance('gpu-0', { cloud: cloud('i-owned') }),
      instance('gpu-1', { status: 'provisioning' }),
      instance('gpu-2', { status: 'terminated', cloud: cloud('i-ended') }),
      instance('gpu-3', { status: 'pending' }),
    ];
    const tagged = [
      { instanceId: 'i-owned', state: 'running', instanceName: 'gpu-0' },
      { instanceId: 'i-creating', state: 'pending', instanceName: 'gpu-1' },
      { instanceId: 'i-ended', state: 'running', instanceName: 'gpu-2' },
      { instanceId: 'i-orphan', state: 'running', instanceName: 'gpu-9' },
      { instanceId: 'i-gone', state: 'terminated', instanceName: 'gpu-8' },
      { instanceId: 'i-half', state: 'running', instanceName: 'gpu-3' },
    ];
    expect(decideSweep(tagged, records)).toEqual(['i-ended', 'i-orphan']);
    // After a restart, gpu-3's creation died with the last process: a VM under its name is an orphan.
    expect(decideSweep(tagged, records, new Set(['gpu-3']))).toEqual(['i-ended', 'i-orphan', 'i-half']);
  });

  it('keeps min: replaces instances the provider took back; after failed creations only while retry covers no-capacity', () => {
    const nodes = { min: 2, target: 2, max: 4 };
    const live = instance('gpu-0');
    const interrupted = instance('gpu-1', { status: 'terminated', terminationReason: 'interrupted', createdAt: 5 });
    const failed = instance('gpu-2', { status: 'terminated', terminationReason: 'provisioning_failed', createdAt: 9 });
    const retry = { on_events: ['no-capacity' as const], duration: 3600 };
    expect(decideReplenish({ nodes, instances: [live, interrupted], retry: false, fleetAgeMs: 0 })).toBe(1);
    expect(decideReplenish({ nodes, instances: [live, instance('gpu-3')], retry: false, fleetAgeMs: 0 })).toBe(0);
    expect(decideReplenish({ nodes, instances: [interrupted, failed], retry: false, fleetAgeMs: 0 })).toBe(0);
    expect(decideReplenish({ nodes, instances: [interrupted, failed], retry, fleetAgeMs: 10_000 })).toBe(2);
    expect(decideReplenish({ nodes, instances: [interrupted, failed], retry, fleetAgeMs: 3_600_000 })).toBe(0);
    expect(decideReplenish({ nodes, instances: [interrupted, failed], retry: { on_events: ['interruption' as const], duration: 3600 }, fleetAgeMs: 0 })).toBe(0);
  });
});
