import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigObject } from '../../core/config/index.js';
import { emptyState, type InstanceRecord, type ReplicaRecord, type RunRecord, type State } from '../../core/state/schema.js';
import type { StateStore } from '../../core/state/store.js';
import { createJsonStateStore } from '../state/json-store.js';
import { FleetPlacer } from './placement.js';

const gpu = (host: string, i: number) => ({ vendor: 'nvidia' as const, name: 'A100', memoryMiB: 81920, id: `${host}-GPU-${i}`, index: i });
const box = (name: string): InstanceRecord =>
  ({
    name, fleet: 'gpus', backend: 'ssh', status: 'idle', unreachable: false, createdAt: 0, blocks: 8,
    host: {
      hostname: name, arch: 'x86_64', cpus: 64, memoryBytes: 512 * 2 ** 30, diskFreeBytes: 0, diskTotalBytes: 4000 * 2 ** 30,
      gpus: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => gpu(name, i)), addresses: [], runtime: 'docker', docker: { available: true },
    },
  }) as InstanceRecord;
const submitted = (num: number): ReplicaRecord =>
  ({ id: `llm-${num}-0`, num, submission: 0, deployment: 0, status: 'submitted', ready: false, probes: [], submittedAt: 0, backend: 'ssh' }) as ReplicaRecord;

const stores: { store: StateStore; dir: string }[] = [];
afterAll(async () => {
  for (const { store, dir } of stores.splice(0)) {
    await store.flush();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The daemon's real store, writing to a temp file. */
function storeOf(state: State): StateStore {
  const dir = mkdtempSync(join(tmpdir(), 'dstack-placement-'));
  const store = createJsonStateStore(join(dir, 'state.json'), state);
  stores.push({ store, dir });
  return store;
}

function setup(replicas = [0, 1, 2].map(submitted)) {
  const config = parseConfigObject({ type: 'service', name: 'llm', image: 'vllm', port: 8000, replicas: 3, resources: { gpu: 'A100:2..' } }, 'llm.yml');
  const run = { name: 'llm', project: 'main', status: 'submitted', config, replicas } as unknown as RunRecord;
  const state: State = { ...emptyState(), runs: [run], instances: [box('gpus-0'), box('gpus-1')] };
  const store = storeOf(state);
  const updateReplica = (id: string, fn: (r: ReplicaRecord) => ReplicaRecord) => {
    run.replicas = run.replicas.map((r) => (r.id === id ? fn(r) : r));
    return true;
  };
  return { run, placer: new FleetPlacer({ store, updateReplica }), store, updateReplica };
}

describe('FleetPlacer', () => {
  it('gives each replica the minimum GPU count its spec allows, exactly those devices, spread over the hosts', () => {
    const { run, placer } = setup();
    const where = run.replicas.map((r) => placer.place(run, run.replicas.find((x) => x.id === r.id)!));
    expect(where).toEqual(['gpus-0', 'gpus-1', 'gpus-0']);
    const ids = run.replicas.map((r) => r.gpuIds);
    expect(ids.every((g) => g?.length === 2)).toBe(true);
    expect(new Set(ids.flat()).size).toBe(6);
    // The start takes the devices once (the agent spec's `gpus`), with the vendor for the runtime.
    const placed = placer.take('llm-0-0');
    expect(placed?.gpus).toMatchObject({ vendor: 'nvidia', ids: run.replicas[0]!.gpuIds });
    expect(placer.take('llm-0-0')).toBeUndefined();
  });

  it('after a daemon restart between placement and start, the replica is placed again instead of starting without its devices', () => {
    const { run, placer, updateReplica } = setup([submitted(0)]);
    placer.place(run, run.replicas[0]!);
    const before = run.replicas[0]!;
    // A new daemon: the record keeps instance, blocks and GPU ids; the in-memory placement is gone.
    const fresh = new FleetPlacer({ store: storeOf({ ...emptyState(), runs: [run], instances: [box('gpus-0'), box('gpus-1')] }), updateReplica });
    expect(fresh.place(run, before)).toBeDefined();
    expect(fresh.take(before.id)?.gpus?.ids).toEqual(run.replicas[0]!.gpuIds);
    expect(run.replicas[0]!.gpuIds).toHaveLength(2);
  });

  it('no fit: the replica waits with the reason and no instance', () => {
    const { run, placer } = setup([submitted(0)]);
    (run.config as { resources: unknown }).resources = parseConfigObject({ type: 'service', image: 'x', port: 1, resources: { gpu: 'H100:1' } }, 'x.yml').resources;
    expect(placer.place(run, run.replicas[0]!)).toBeUndefined();
    expect(run.replicas[0]).toMatchObject({ status: 'submitted', statusMessage: expect.stringMatching(/H100/) });
    expect(run.replicas[0]!.instance).toBeUndefined();
  });
});
