/**
 * One offer per SSH fleet host, built from its agent's real host info (dstack-notes §1.4: SSH offers print as
 * backend `ssh`, price $0). Matching is the local backend's; availability is `idle` with no live replica, `busy`
 * with one, `not available` when the host cannot meet the requirements or is unreachable. The pure scheduler
 * (src/core/scheduling) refines busy/idle with blocks later.
 */
import type { Offer } from '../../core/api.js';
import type { SshTarget } from '../../core/fleets/types.js';
import type { HostInfo } from '../../core/model/agent-api.js';
import type { Requirements } from '../backend.js';
import { unmetRequirements } from '../local/offers.js';

export interface HostSnapshot {
  host: HostInfo;
  reachable: boolean;
  /** Replicas the agent holds that are not exited/failed. */
  liveReplicas: number;
}

export function sshOffer(target: SshTarget, snap: HostSnapshot, req: Requirements): Offer {
  const unmet = unmetRequirements(snap.host, req);
  const availability: Offer['availability'] = !snap.reachable || unmet.length > 0 ? 'not available' : snap.liveReplicas > 0 ? 'busy' : 'idle';
  return {
    backend: 'ssh',
    region: target.fleet || 'ssh',
    instanceType: 'ssh',
    resources: {
      cpus: snap.host.cpus,
      memoryBytes: snap.host.memoryBytes,
      diskBytes: snap.host.diskTotalBytes,
      gpus: snap.host.gpus.map((g) => ({ name: g.name, memoryMiB: g.memoryMiB, vendor: g.vendor })),
      arch: snap.host.arch,
    },
    spot: false,
    price: 0,
    availability,
    runtime: snap.host.runtime,
    fleet: target.fleet,
    instance: target.instance,
  };
}
