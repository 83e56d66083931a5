// A service's `fallback` (core/runs/spot-fallback.ts) decides spot or on-demand by replica number; the placement
// only offers it instances of that kind, and a replica with none waits (so its fleet grows with the right offers).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigObject } from '../../core/config/index.js';
import { emptyState, type InstanceRecord, type ReplicaRecord, type RunRecord, type State } from '../../core/state/schema.js';
import type { StateStore } from '../../core/state/store.js';
import { createJsonStateStore } from '../state/json-store.js';
import { FleetPlacer } from './placement.js';

const vm = (name: string, spot: boolean): InstanceRecord =>
  ({
    name, fleet: 'cloud', backend: 'aws', status: 'idle', unreachable: false, createdAt: 0, blocks: 1,
    cloud: { instanceId: `i-${name}`, region: 'us-east-1', instanceType: 't3.medium', spot, price: 0.01, user: 'ubuntu', sshPort: 22 },
    host: { hostname: name, arch: 'x86_64', cpus: 4, memoryBytes: 16 * 2 ** 30, diskFreeBytes: 0, diskTotalBytes: 100 * 2 ** 30, gpus: [], addresses: [], runtime: 'docker', docker: { available: true } },
  }) as InstanceRecord;
const submitted = (num: number): ReplicaRecord =>
  ({ id: `web-${num}-0`, num, submission: 0, deployment: 0, status: 'submitted', ready: false, probes: [], submittedAt: 0, backend: 'ssh' }) as ReplicaRecord;

const dirs: { store: StateStore; dir: string }[] = [];
afterAll(async () => {
  for (const { store, dir } of dirs.splice(0)) {
    await store.flush();
    rmSync(dir, { recursive: true, force: true });
  }
});

function setup(instances: InstanceRecord[], raw: Record<string, unknown>) {
  const config = parseConfigObject({ type: 'service', name: 'web', image: 'img', port: 8000, replicas: 3, ...raw }, 'web.yml');
  const run = { name: 'web', project: 'main', status: 'submitted', config, desiredReplicas: 3, replicas: [0, 1, 2, 3].map(submitted) } as unknown as RunRecord;
  const dir = mkdtempSync(join(tmpdir(), 'dstack-spot-placement-'));
  const store = createJsonStateStore(join(dir, 'state.json'), { ...emptyState(), runs: [run], instances } as State);
  dirs.push({ store, dir });
  const updateReplica = (id: string, fn: (r: ReplicaRecord) => ReplicaRecord) => {
    run.replicas = run.replicas.map((r) => (r.id === id ? fn(r) : r));
    return true;
  };
  const placer = new FleetPlacer({ store, updateReplica });
  const place = (num: number) => placer.place(run, run.replicas.find((r) => r.num === num)!);
  return { run, place };
}

describe('FleetPlacer with a spot fallback', () => {
  it('puts the on-demand base and covers on on-demand instances and the others on spot ones', () => {
    const { place } = setup([vm('od-0', false), vm('od-1', false), vm('spot-0', true), vm('spot-1', true)], { spot_policy: 'auto', fallback: { on_demand_base: 1, dynamic: true } });
    expect([0, 1, 2, 3].map(place)).toEqual(['od-0', 'spot-0', 'spot-1', 'od-1']);
  });

  it('leaves a spot replica waiting, with its reason, when only on-demand instances are free', () => {
    const { run, place } = setup([vm('od-0', false), vm('od-1', false)], { spot_policy: 'spot', fallback: { on_demand_base: 1 } });
    expect(place(0)).toBe('od-0');
    expect(place(1)).toBeUndefined();
    expect(run.replicas.find((r) => r.num === 1)?.statusMessage).toBeDefined();
  });

  it('without `fallback` any instance will do, as before', () => {
    const { place } = setup([vm('spot-0', true), vm('od-0', false)], {});
    expect(place(0)).toBeDefined();
    expect(place(1)).toBeDefined();
  });
});
