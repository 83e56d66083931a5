/**
 * Fleet state read for scheduling and for the fleet API: stored targets back to `SshTarget`s, the live replicas
 * on a set of instances (who blocks a delete), and the scheduler's inputs (InstanceCapacity from the instance
 * records + cached host info, Allocations from the replicas placed on them).
 */
import type { SshTarget } from '../../core/fleets/index.js';
import { isActive, isRunFinished } from '../../core/reconcile/index.js';
import type { Allocation, InstanceCapacity } from '../../core/scheduling/index.js';
import type { FleetRecord, InstanceRecord, RunRecord } from '../../core/state/schema.js';

/** Fleet statuses after which a fleet of that name can be created anew. */
export const FLEET_DONE: ReadonlySet<FleetRecord['status']> = new Set(['terminated', 'failed']);

/** The instance records of fleet `fleet`. */
export const instancesOf = (instances: readonly InstanceRecord[], fleet: string): InstanceRecord[] => instances.filter((i) => i.fleet === fleet);

type StoredTarget = NonNullable<InstanceRecord['target']>;

export interface LiveReplica {
  run: string;
  replica: string;
  instance: string;
}

/** The stored target as the SSH backend takes it (optional fields left out rather than undefined). */
export function fleetTarget(t: StoredTarget): SshTarget {
  const { proxyJump, internalIp, ...rest } = t;
  return { ...rest, ...(proxyJump ? { proxyJump } : {}), ...(internalIp !== undefined ? { internalIp } : {}) };
}


/** Replicas of active runs that are not finished and sit on one of `instances`. */
export function liveReplicasOn(runs: readonly RunRecord[], instances: readonly string[]): LiveReplica[] {
  const wanted = new Set(instances);
  return runs
    .filter((run) => !isRunFinished(run))
    .flatMap((run) => run.replicas.filter((r) => isActive(r) && r.instance !== undefined && wanted.has(r.instance)).map((r) => ({ run: run.name, replica: r.id, instance: r.instance! })));
}

/** Joined fleet hosts as the scheduler sees them; unreachable or not-joined hosts are listed but unavailable. */
export function fleetCapacity(instances: readonly InstanceRecord[]): InstanceCapacity[] {
  return instances.flatMap((i) => {
    if (!i.host || i.status === 'terminated') return [];
    const capacity: InstanceCapacity = {
      name: i.name,
      backend: i.backend,
      available: (i.status === 'idle' || i.status === 'busy') && !i.unreachable,
      cpus: i.host.cpus,
      memoryBytes: i.host.memoryBytes,
      diskBytes: i.host.diskTotalBytes,
      gpus: i.host.gpus,
      blocks: i.blocks ?? 1,
    };
    if (i.fleet !== undefined) capacity.fleet = i.fleet;
    return [capacity];
  });
}

/** What live replicas hold: their stored blocks and GPU ids (a replica placed before blocks existed takes the host). */
export function allocationsOf(runs: readonly RunRecord[], instances: readonly InstanceRecord[]): Allocation[] {
  const blocksOf = new Map(instances.map((i) => [i.name, i.blocks ?? 1]));
  return runs.flatMap((run) =>
    run.replicas
      .filter((r) => isActive(r) && r.instance !== undefined && blocksOf.has(r.instance))
      .map((r) => ({ instance: r.instance!, runName: run.name, replicaId: r.id, blocks: r.blocks ?? blocksOf.get(r.instance!)!, gpuIds: r.gpuIds ?? [] })),
  );
}

/** Blocks held on `instance` by live replicas (InstanceView.busyBlocks). */
export function busyBlocks(runs: readonly RunRecord[], instance: InstanceRecord): number {
  return allocationsOf(runs, [instance]).reduce((sum, a) => sum + a.blocks, 0);
}

export const partition = <T>(items: readonly T[], test: (t: T) => boolean): [T[], T[]] => [items.filter(test), items.filter((t) => !test(t))];

export function describeLive(live: LiveReplica[]): string {
  const runs = [...new Set(live.map((l) => l.run))];
  return `run${runs.length > 1 ? 's' : ''} ${runs.map((r) => `\`${r}\``).join(', ')} (${live.length} replica${live.length > 1 ? 's' : ''})`;
}
