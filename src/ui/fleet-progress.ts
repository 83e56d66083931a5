/**
 * Fleet apply progress, shared by the plain lines (pipes, CI) and the Ink view: when provisioning is over (every
 * host joined or failed), what one host's line says, and which lines changed between two snapshots. Cloud
 * instances report their steps the same way (`trying g5.xlarge in us-east-1a: no capacity`, `created i-0abc`).
 */
import type { FleetView, InstanceView } from '../core/api.js';
import { instanceStatus } from './fleets-table.js';

/**
 * `on-demand`: a cloud fleet whose apply creates nothing (`nodes: 0..N`); its instances are created when runs
 * need them, so there is nothing to wait for.
 */
export type FleetOutcome = { kind: 'waiting' } | { kind: 'on-demand' } | { kind: 'settled'; joined: InstanceView[]; failed: InstanceView[] };

const JOINED = new Set(['idle', 'busy']);
const GONE = new Set(['terminating', 'terminated']);

/** A host failed when it ended with an error (or a cloud instance could not be created); one removed by a re-apply ends without one. */
export const hostFailed = (i: InstanceView): boolean => GONE.has(i.status) && (i.error !== undefined || i.terminationReason === 'provisioning_failed');

export function fleetOutcome(fleet: FleetView): FleetOutcome {
  if (fleet.nodes?.target === 0 && fleet.status !== 'failed' && fleet.status !== 'terminated') return { kind: 'on-demand' };
  const joined = fleet.instances.filter((i) => JOINED.has(i.status));
  const failed = fleet.instances.filter(hostFailed);
  const fleetOver = fleet.status === 'failed' || fleet.status === 'terminated';
  // Right after apply the daemon may not have listed the hosts yet: an empty fleet is still starting.
  const allSettled = fleet.instances.length > 0 && fleet.instances.every((i) => JOINED.has(i.status) || GONE.has(i.status));
  // An active cloud fleet lists what apply creates with it: with no instance at all, nothing is in flight.
  const cloudReady = fleet.nodes !== undefined && fleet.status === 'active' && fleet.instances.every((i) => JOINED.has(i.status) || GONE.has(i.status));
  return allSettled || cloudReady || fleetOver ? { kind: 'settled', joined, failed } : { kind: 'waiting' };
}

export type HostPhase = 'working' | 'joined' | 'failed' | 'removed';

export function hostPhase(i: InstanceView): HostPhase {
  if (JOINED.has(i.status)) return 'joined';
  if (hostFailed(i)) return 'failed';
  return GONE.has(i.status) ? 'removed' : 'working';
}

/** What an apply that created nothing says: when the instances of a `nodes: 0..N` fleet will come. */
export function onDemandMessage(fleet: FleetView): string {
  const max = fleet.nodes?.max;
  const upTo = max === undefined ? '' : ` (up to ${max})`;
  return `Fleet ${fleet.name} is ready: its instances are created when runs need them${upTo}`;
}

/** `provisioning (uploading dstack-agent…)`, `idle`, `terminated - host key changed`. */
export function hostState(i: InstanceView): string {
  const progress = i.progress && hostPhase(i) === 'working' ? ` (${i.progress})` : '';
  const error = i.error ? ` - ${i.error}` : '';
  return `${instanceStatus(i)}${progress}${error}`;
}

/** `my-fleet-0 root@10.77.0.11:22`: the instance and the host it is; a cloud instance without an address yet is its name. */
export const hostLabel = (i: InstanceView): string => (i.host === i.name ? i.name : `${i.name} ${i.host}`);

/** Each instance's steps so far, oldest first (the Ink view shows the earlier ones, e.g. offers that had no capacity). */
export type FleetSteps = ReadonlyMap<string, readonly string[]>;

const KEPT_STEPS = 3;

export function recordSteps(steps: FleetSteps, fleet: FleetView): FleetSteps {
  const next = new Map(steps);
  for (const i of fleet.instances) {
    const seen = next.get(i.name) ?? [];
    if (i.progress !== undefined && seen[seen.length - 1] !== i.progress) next.set(i.name, [...seen, i.progress].slice(-KEPT_STEPS - 1));
  }
  return next;
}

/** The steps to show under an instance: the ones before the current step while it works, the last ones once it failed. */
export function pastSteps(steps: FleetSteps, i: InstanceView): readonly string[] {
  const seen = steps.get(i.name) ?? [];
  const phase = hostPhase(i);
  if (phase === 'working') return (seen[seen.length - 1] === i.progress ? seen.slice(0, -1) : seen).slice(-KEPT_STEPS);
  return phase === 'failed' ? seen.slice(-KEPT_STEPS) : [];
}

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
