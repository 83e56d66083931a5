/**
 * Where a run's new replicas go (issue 5). With SSH fleets in use (the run's `backends:` allows them and a fleet has
 * hosts) a new replica waits for placement, which picks a fleet instance when it starts; otherwise it runs on this
 * machine. A daemon without fleet support puts every replica on its single backend's first instance.
 */
import type { ReplicaRecord } from '../state/schema.js';
import type { ReconcileContext } from './decide.js';

export type ReplicaTarget = Pick<ReconcileContext, 'backend' | 'instance'>;

/**
 * `fleets`: whether the run goes to fleet instances, undefined when the daemon has no fleet support;
 * `single`: that daemon's backend kind and its first instance.
 */
export function replicaTarget(fleets: boolean | undefined, single: { kind: string; instance: string | undefined }): ReplicaTarget {
  if (fleets === undefined) return { backend: single.kind, instance: single.instance ?? 'local' };
  return fleets ? { backend: 'ssh' } : { backend: 'local', instance: 'local' };
}

/** Whether a submitted replica still needs the fleet placement to pick its instance (else: where it runs). */
export function needsPlacement(replica: ReplicaRecord, fleetSupport: boolean): boolean {
  return fleetSupport && replica.backend === 'ssh';
}
