/**
 * Where a submitted replica of a fleet run starts (issue 5): the pure scheduler over the fleet instances in state,
 * with the allocations of every other replica. The result (instance, blocks, GPU ids) is stored on the replica
 * before anything awaits, so the next replica placed in the same tick sees it; the CPU/memory limits and GPU
 * devices for the agent spec stay here until the start takes them.
 */
import type { ServiceConfig } from '../../core/model/service.js';
import { requirementsOf } from '../../core/runs/index.js';
import { instanceHasCapacity, placementCapacity } from '../../core/runs/spot-fallback.js';
import { placeReplica, type Placement } from '../../core/scheduling/index.js';
import type { ReplicaRecord, RunRecord } from '../../core/state/schema.js';
import type { StateStore } from '../../core/state/store.js';
import { allocationsOf, fleetCapacity } from './fleets-state.js';
import { instanceProject } from './project-state.js';

/** The configuration fields placement reads from a run's normalized config. */
export type PlacementConfig = Pick<ServiceConfig, 'resources' | 'groups' | 'backends' | 'fleets' | 'instance_types'>;

type Placed = Extract<Placement, { ok: true }>;

export interface FleetPlacerOptions {
  store: StateStore;
  /** Instances without a project belong to it; absent = every instance is a candidate (one project). */
  defaultProject?: string;
  updateReplica: (id: string, fn: (r: ReplicaRecord) => ReplicaRecord) => boolean;
}

export class FleetPlacer {
  private readonly placements = new Map<string, Placed>();

  constructor(private readonly o: FleetPlacerOptions) {}

  /** The instance for `replica`, or undefined: it waits, the reason in its statusMessage, and the next tick retries. */
  place(run: RunRecord, replica: ReplicaRecord): string | undefined {
    if (replica.instance !== undefined) {
      // Limits and GPU devices live in memory until the start: after a daemon restart in between, the replica is
      // placed again (its stored allocation is dropped first, so it does not count against itself).
      if (replica.backend !== 'ssh' || this.placements.has(replica.id)) return replica.instance;
      this.o.updateReplica(replica.id, (r) => {
        const { instance: _i, blocks: _b, gpuIds: _g, ...rest } = r;
        return rest;
      });
    }
    const config: PlacementConfig = run.config;
    // A run goes to its own project's fleets only (issue 17: fleets belong to a project).
    const d = this.o.defaultProject;
    const instances = d === undefined ? this.o.store.instances() : this.o.store.instances().filter((i) => instanceProject(i, d) === run.project);
    const runs = this.o.store.runs();
    // A replica group with its own `resources` is placed by them (dstack: group fields override the top level).
    const group = replica.group !== undefined ? config.groups?.find((g) => g.name === replica.group) : undefined;
    const capacity = placementCapacity(run, replica);
    const placement = placeReplica(
      {
        runName: run.name,
        requirements: requirementsOf(group?.resources ?? config.resources),
        ...(config.fleets ? { fleets: config.fleets } : {}),
        ...(config.backends ? { backends: config.backends } : {}),
        ...(config.instance_types ? { instanceTypes: config.instance_types } : {}),
      },
      // A service's `fallback` decides spot or on-demand by replica number; the other instances are not candidates.
      fleetCapacity(capacity === undefined ? instances : instances.filter((i) => instanceHasCapacity(i, capacity))),
      allocationsOf(runs, instances),
    );
    if (!placement.ok) {
      // The replica stays submitted and the run waits; `dstack ps` shows why.
      this.o.updateReplica(replica.id, (r) => ({ ...r, statusMessage: placement.reason }));
      return undefined;
    }
    this.placements.set(replica.id, placement);
    this.o.updateReplica(replica.id, (r) => {
      const { statusMessage: _, ...rest } = r;
      return { ...rest, instance: placement.instance, blocks: placement.blocks, ...(placement.gpus ? { gpuIds: placement.gpus.ids } : {}) };
    });
    return placement.instance;
  }

  /** The placement made for replica `id` (limits, GPU devices), handed out once to its start. */
  take(id: string): Placed | undefined {
    const placed = this.placements.get(id);
    this.placements.delete(id);
    return placed;
  }
}
