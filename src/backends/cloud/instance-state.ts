/**
 * What became of a cloud instance dstack did not terminate itself: the daemon asks this on its ticks to notice a
 * spot interruption or an instance terminated behind its back (console, another tool), and replaces the replicas
 * per `retry` with the reason shown in `dstack ps` / `dstack fleet`.
 */
import type { CloudInstanceState, Compute } from '../compute.js';

export interface CloudInstanceStatus {
  /** `not-found`: the provider no longer knows it (terminated long enough ago to be forgotten). */
  state: CloudInstanceState | 'not-found';
  /** The provider's own reason (`Server.SpotInstanceTermination`, `Client.UserInitiatedShutdown`…). */
  stateReason?: string;
  /** Set once the instance is gone or going: InstanceRecord.terminationReason. */
  terminationReason?: 'interrupted' | 'terminated_externally';
}

/** Provider reasons that mean "the provider took the capacity back" (AWS spot; GCP preemption, for its issue). */
const INTERRUPTED = [/^Server\.SpotInstanceTermination/, /^instance-terminated-(no-capacity|capacity-oversubscribed|by-price)/i, /preempt/i];

const ENDED: readonly CloudInstanceState[] = ['terminated', 'shutting-down'];

export function instanceStatus(described: Awaited<ReturnType<Compute['describeInstance']>>): CloudInstanceStatus {
  if (!described) return { state: 'not-found', terminationReason: 'terminated_externally' };
  const { state, stateReason } = described;
  const reason = stateReason !== undefined ? { stateReason } : {};
  if (!ENDED.includes(state)) return { state, ...reason };
  const interrupted = stateReason !== undefined && INTERRUPTED.some((re) => re.test(stateReason));
  return { state, ...reason, terminationReason: interrupted ? 'interrupted' : 'terminated_externally' };
}
