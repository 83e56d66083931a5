/**
 * One instance as the scheduler sees it: its blocks, what live replicas already hold there, and whether a request
 * fits in what is left (dstack `get_shared_instances_with_offers`, dstack-notes §1.4 and §5.4). Pure.
 *
 * - An instance is split into `blocks` equal shares of CPUs, memory and GPUs; disk is shared, not split. A replica
 *   takes the fewest blocks whose share covers its minimum CPUs, memory and GPU count (a whole host when blocks = 1).
 * - Minimums only: `max` of a range never refuses a bigger host (for a share it caps the container limits,
 *   place.ts). dstack filters SSH offers by max as well, which leaves users with `cpu: 2..4` unable to use their own
 *   16-core box; a limit serves the intent of a max without refusing capacity that is there.
 * - Memory and disk get 5% slack (as the local backend's offer matching): hosts report a little less than the
 *   nominal size (`8GB` of RAM shows as 7.7GiB), and a user asking for `8GB` on an 8GB box means that box.
 */
import { gpusWanted, pickGpus, type HostGpu } from './gpu-match.js';
import type { Allocation, InstanceCapacity, PlacementRequest } from './types.js';

export const SIZE_SLACK = 0.95;

/** Instance names in natural order (`my-fleet-2` before `my-fleet-10`), the same on every machine. */
export const byName = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

export interface InstanceLoad {
  instance: InstanceCapacity;
  /** Total blocks (at least 1). */
  blocks: number;
  freeBlocks: number;
  /** GPUs no live replica holds. */
  freeGpus: HostGpu[];
  /** Live replicas of the requesting run on this instance. */
  sameRun: number;
}

export type Fit = { ok: true; load: InstanceLoad; blocks: number; gpus: HostGpu[] } | { ok: false };

export function loadOf(instance: InstanceCapacity, allocations: readonly Allocation[], runName?: string): InstanceLoad {
  const here = allocations.filter((a) => a.instance === instance.name);
  const held = new Set(here.flatMap((a) => a.gpuIds));
  const blocks = Math.max(1, Math.floor(instance.blocks));
  return {
    instance,
    blocks,
    freeBlocks: Math.max(0, blocks - here.reduce((sum, a) => sum + a.blocks, 0)),
    freeGpus: instance.gpus.filter((g) => !held.has(g.id)),
    sameRun: runName === undefined ? 0 : here.filter((a) => a.runName === runName).length,
  };
}

/** Blocks needed for `min` of a resource the instance has `total` of in `blocks` shares (Infinity: never enough). */
function blocksFor(min: number | undefined, total: number, blocks: number): number {
  if (min === undefined || min <= 0) return 1;
  if (total <= 0) return Infinity;
  return Math.max(1, Math.ceil((min * blocks) / total));
}

/** The fewest blocks whose share covers the request's minimums; above `load.blocks` when even the whole host cannot. */
export function blocksNeeded(load: InstanceLoad, req: PlacementRequest['requirements']): number {
  const { instance, blocks } = load;
  return Math.max(
    blocksFor(req.cpu.min, instance.cpus, blocks),
    blocksFor(req.memoryBytes.min === undefined ? undefined : req.memoryBytes.min * SIZE_SLACK, instance.memoryBytes, blocks),
    blocksFor(gpusWanted(req.gpu), instance.gpus.length, blocks),
  );
}

export function diskFits(instance: InstanceCapacity, req: PlacementRequest['requirements']): boolean {
  return req.diskBytes.min === undefined || instance.diskBytes >= req.diskBytes.min * SIZE_SLACK;
}

/** Whether the request fits in what is free on the instance now, and with which blocks and GPU devices. */
export function fitOn(load: InstanceLoad, req: PlacementRequest['requirements']): Fit {
  if (!load.instance.available || !diskFits(load.instance, req)) return { ok: false };
  const blocks = blocksNeeded(load, req);
  if (blocks > load.freeBlocks) return { ok: false };
  const gpus = pickGpus(load.freeGpus, req.gpu, gpusWanted(req.gpu));
  return gpus === undefined ? { ok: false } : { ok: true, load, blocks, gpus };
}

/** CPUs and memory of `k` blocks of the instance (the GPUs of a share are the devices picked for it). */
export function shareOf(instance: InstanceCapacity, blocks: number, k: number): { cpus: number; memoryBytes: number } {
  return { cpus: (instance.cpus * k) / blocks, memoryBytes: Math.floor((instance.memoryBytes * k) / blocks) };
}
