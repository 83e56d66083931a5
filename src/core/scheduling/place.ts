/**
 * Which instance a new replica goes to (dstack `_assign_instance_to_job`, dstack-notes §1.4), pure: the daemon's
 * reconciler passes its instances and the live replicas' allocations and gets a `Placement`.
 *
 * 1. Candidates: the instances the configuration's `fleets:`, `backends:` and `instance_types:` allow, and of
 *    those only `available` ones (reachable, agent current, not terminating).
 * 2. Fit (capacity.ts): the fewest blocks covering the request's minimum CPUs/memory/GPUs among the free blocks,
 *    disk not split, and exactly the minimum GPU count of matching free devices, lowest index first.
 * 3. Spread: the instance with the fewest live replicas of the same run, then the most free blocks, then the name
 *    (so equal hosts fill in a stable order and a service's replicas land on different hosts when they can).
 * 4. Limits: only a share (fewer blocks than the host has) gets `cpuLimit`/`memoryLimitBytes`: the share, capped by
 *    the request's `max`. A whole host runs unlimited, as dstack runs it (dstack-notes §1 item 7).
 * No fit → one sentence naming what is missing (reasons.ts).
 */
import { byName, fitOn, loadOf, shareOf, type Fit } from './capacity.js';
import { filterCandidates } from './filters.js';
import { noFitReason } from './reasons.js';
import type { Allocation, InstanceCapacity, Placement, PlacementRequest } from './types.js';

type Fitting = Extract<Fit, { ok: true }>;

/** Fewest replicas of the same run, then most free blocks, then name. */
function byPreference(a: Fitting, b: Fitting): number {
  return a.load.sameRun - b.load.sameRun || b.load.freeBlocks - a.load.freeBlocks || byName(a.load.instance.name, b.load.instance.name);
}

function placementOf(fit: Fitting, req: PlacementRequest): Placement {
  const { instance, blocks } = fit.load;
  const placement: Placement = { ok: true, instance: instance.name, blocks: fit.blocks };
  const first = fit.gpus[0];
  if (first !== undefined) placement.gpus = { vendor: first.vendor, ids: fit.gpus.map((g) => g.id) };
  if (fit.blocks < blocks) {
    const share = shareOf(instance, blocks, fit.blocks);
    placement.cpuLimit = Math.min(share.cpus, req.requirements.cpu.max ?? Infinity);
    placement.memoryLimitBytes = Math.min(share.memoryBytes, req.requirements.memoryBytes.max ?? Infinity);
  }
  return placement;
}

export function placeReplica(req: PlacementRequest, instances: readonly InstanceCapacity[], allocations: readonly Allocation[]): Placement {
  const candidates = filterCandidates(req, instances);
  if (!candidates.ok) return candidates;
  const loads = candidates.instances.map((i) => loadOf(i, allocations, req.runName));
  const fits = loads.map((l) => fitOn(l, req.requirements)).filter((f): f is Fitting => f.ok);
  const best = fits.sort(byPreference)[0];
  return best === undefined ? { ok: false, reason: noFitReason(req.requirements, loads) } : placementOf(best, req);
}
