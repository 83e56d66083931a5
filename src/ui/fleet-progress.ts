/**
 * Fleet apply progress, shared by the plain lines (pipes, CI) and the Ink view: when provisioning is over (every
 * host joined or failed), what one host's line says, and which lines changed between two snapshots.
 */
import type { FleetView, InstanceView } from '../core/api.js';
import { instanceStatus } from './fleets-table.js';

export type FleetOutcome = { kind: 'waiting' } | { kind: 'settled'; joined: InstanceView[]; failed: InstanceView[] };

const JOINED = new Set(['idle', 'busy']);
const GONE = new Set(['terminating', 'terminated']);

/** A host failed when it ended with an error; one removed by a re-apply ends without one. */
export const hostFailed = (i: InstanceView): boolean => GONE.has(i.status) && i.error !== undefined;

export function fleetOutcome(fleet: FleetView): FleetOutcome {
  const joined = fleet.instances.filter((i) => JOINED.has(i.status));
  const failed = fleet.instances.filter(hostFailed);
  const fleetOver = fleet.status === 'failed' || fleet.status === 'terminated';
  // Right after apply the daemon may not have listed the hosts yet: an empty fleet is still starting.
  const allSettled = fleet.instances.length > 0 && fleet.instances.every((i) => JOINED.has(i.status) || GONE.has(i.status));
  return allSettled || fleetOver ? { kind: 'settled', joined, failed } : { kind: 'waiting' };
}

export type HostPhase = 'working' | 'joined' | 'failed' | 'removed';

export function hostPhase(i: InstanceView): HostPhase {
  if (JOINED.has(i.status)) return 'joined';
  if (hostFailed(i)) return 'failed';
  return GONE.has(i.status) ? 'removed' : 'working';
}

/** `provisioning (uploading dstack-agent…)`, `idle`, `terminated - host key changed`. */
export function hostState(i: InstanceView): string {
  const progress = i.progress && hostPhase(i) === 'working' ? ` (${i.progress})` : '';
  const error = i.error ? ` - ${i.error}` : '';
  return `${instanceStatus(i)}${progress}${error}`;
}

/** `my-fleet-0 root@10.77.0.11:22`: the instance and the host it is. */
export const hostLabel = (i: InstanceView): string => `${i.name} ${i.host}`;

/** Lines describing what changed from `prev` to `next` (all of `next` when `prev` is undefined). */
export function fleetProgressLines(prev: FleetView | undefined, next: FleetView): string[] {
  const lines: string[] = [];
  if (!prev || prev.status !== next.status) lines.push(`Fleet ${next.name}: ${next.status}`);
  const before = new Map((prev?.instances ?? []).map((i) => [i.name, hostState(i)]));
  for (const i of next.instances) {
    const state = hostState(i);
    if (before.get(i.name) !== state) lines.push(`${hostLabel(i)}: ${state}`);
  }
  return lines;
}
