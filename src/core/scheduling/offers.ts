/**
 * Existing instances as offers for `dstack offer` and the run plan (dstack `print_offers_table`), pure: one offer
 * per instance, whatever the filters, so the plan can show what exists and why it is not used.
 *
 * Availability, as dstack shows its instances:
 *   `idle`          the request fits and no replica runs there;
 *   `busy`          the request fits in the blocks/GPUs still free beside the replicas already there;
 *   `not available` the request does not fit now (too small, fully taken) or the instance is unavailable.
 * Resources are what the replica would get: the CPUs and memory of the blocks it takes (all of a whole host) and
 * the GPUs picked for it; an instance it does not fit on shows everything it has.
 * Order: idle, then busy (most free blocks first), then not available; ties by name.
 */
import type { Offer } from '../api.js';
import { byName, fitOn, loadOf, shareOf, type Fit } from './capacity.js';
import type { Allocation, InstanceCapacity, PlacementRequest } from './types.js';

type Availability = Offer['availability'];
const RANK: Partial<Record<Availability, number>> = { idle: 0, busy: 1 };

function resourcesOf(instance: InstanceCapacity, fit: Fit): Offer['resources'] {
  const gpus = (list: InstanceCapacity['gpus']) => list.map((g) => ({ name: g.name, memoryMiB: g.memoryMiB, vendor: g.vendor }));
  const whole = { cpus: instance.cpus, memoryBytes: instance.memoryBytes, diskBytes: instance.diskBytes, gpus: gpus(instance.gpus) };
  if (!fit.ok) return whole;
  const share = fit.blocks < fit.load.blocks ? shareOf(instance, fit.load.blocks, fit.blocks) : whole;
  return { ...whole, cpus: share.cpus, memoryBytes: share.memoryBytes, gpus: gpus(fit.gpus) };
}

function offerOf(instance: InstanceCapacity, fit: Fit, busy: boolean): Offer & { freeBlocks: number } {
  const availability: Availability = !fit.ok ? 'not available' : busy ? 'busy' : 'idle';
  return {
    backend: instance.backend,
    region: instance.region ?? (instance.backend === 'local' ? 'local' : 'remote'),
    instanceType: instance.instanceType ?? (instance.backend === 'local' ? 'local' : 'instance'),
    resources: resourcesOf(instance, fit),
    spot: false,
    price: 0,
    availability,
    ...(instance.fleet !== undefined ? { fleet: instance.fleet } : {}),
    instance: instance.name,
    freeBlocks: fit.ok ? fit.load.freeBlocks : 0,
  };
}

export function offersFor(requirements: PlacementRequest['requirements'], instances: readonly InstanceCapacity[], allocations: readonly Allocation[]): Offer[] {
  const offers = instances.map((instance) => {
    const load = loadOf(instance, allocations);
    return offerOf(instance, fitOn(load, requirements), allocations.some((a) => a.instance === instance.name));
  });
  const rank = (o: Offer) => RANK[o.availability] ?? 2;
  return offers
    .sort((a, b) => rank(a) - rank(b) || b.freeBlocks - a.freeBlocks || byName(a.instance ?? '', b.instance ?? ''))
    .map(({ freeBlocks: _, ...offer }) => offer);
}
