// Instances, GPUs and requests for the scheduler tests; requests go through the real `resources` grammar.
import { Resources } from '../../../src/core/model/resources.js';
import type { Allocation, InstanceCapacity, Placement, PlacementConfig, PlacementRequest } from '../../../src/core/scheduling/index.js';
import { placeReplica, placementRequest } from '../../../src/core/scheduling/index.js';

export const GiB = 1024 ** 3;

type Gpu = InstanceCapacity['gpus'][number];

/** `n` GPUs of one model with ids `<prefix>-<i>` (NVIDIA UUID-like; AMD render nodes for `vendor: 'amd'`). */
export function gpus(n: number, over: Partial<Gpu> & { prefix?: string } = {}): Gpu[] {
  const { prefix = 'GPU', ...gpu } = over;
  return Array.from({ length: n }, (_, i) => ({
    vendor: 'nvidia' as const, name: 'NVIDIA A100-SXM4-80GB', memoryMiB: 81_920, index: i,
    id: gpu.vendor === 'amd' ? `/dev/dri/renderD${128 + i}` : `${prefix}-${i}`, ...gpu,
  }));
}

export function host(name: string, over: Partial<InstanceCapacity> = {}): InstanceCapacity {
  return { name, fleet: 'my-fleet', backend: 'ssh', available: true, cpus: 16, memoryBytes: 64 * GiB, diskBytes: 500 * GiB, gpus: [], blocks: 1, ...over };
}

/** Run `svc` asking for `resources` as a user writes them (defaults `cpu: 2..`, `memory: 8GB..`, `disk: 100GB..`). */
export function request(resources: Record<string, unknown> = {}, filters: Omit<PlacementConfig, 'resources'> = {}): PlacementRequest {
  return placementRequest('svc', { resources: Resources.parse(resources), ...filters });
}

export function allocation(instance: string, blocks: number, over: Partial<Allocation> = {}): Allocation {
  return { instance, runName: 'other', replicaId: `${instance}-${blocks}`, blocks, gpuIds: [], ...over };
}

/** Places `count` replicas one after another as the reconciler does, each placement becoming an allocation. */
export function placeMany(req: PlacementRequest, instances: InstanceCapacity[], count: number, allocations: Allocation[] = []): Placement[] {
  const placed: Placement[] = [];
  for (let i = 0; i < count; i++) {
    const p = placeReplica(req, instances, allocations);
    placed.push(p);
    if (p.ok) allocations.push({ instance: p.instance, runName: req.runName, replicaId: `${req.runName}-${i}`, blocks: p.blocks, gpuIds: p.gpus?.ids ?? [] });
  }
  return placed;
}
