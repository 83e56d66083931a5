/**
 * Host loss (issue 5), pure. While a fleet host is unreachable its replicas say so (`dstack ps` shows why they stopped
 * serving; the agent's next state clears it). Once it has been unreachable for the loss window they fail
 * (`instance_unreachable`), so the run's decisions replace them elsewhere (placement skips unavailable hosts); when
 * the host returns, its agent's snapshot shows them as leftovers and they are stopped, so no duplicates remain. A
 * host taken out of its fleet while replicas are still on it (a forced delete) fails them with `instance_terminated`.
 */
import type { InstanceRecord, ReplicaRecord, RunRecord } from '../state/schema.js';
import { isActive } from './replica-status.js';
import { isRunFinished } from './run-status.js';

export const UNREACHABLE_MESSAGE = 'instance unreachable';

export type HostLossAction =
  | { type: 'flag'; replicaId: string }
  | { type: 'fail'; replicaId: string; reason: 'instance_unreachable' | 'instance_terminated'; error: string };

export interface HostLossInput {
  runs: readonly RunRecord[];
  instances: readonly InstanceRecord[];
  now: number;
  /** How long a host may stay unreachable before its replicas are replaced. */
  windowMs: number;
}

/** What host loss does to replicas now: flag those on unreachable hosts, fail those on hosts lost for the window. */
export function decideHostLoss({ runs, instances, now, windowMs }: HostLossInput): HostLossAction[] {
  const actions: HostLossAction[] = [];
  for (const instance of instances) {
    if (!instance.unreachable) continue;
    const lost = instance.unreachableSince !== undefined && now - instance.unreachableSince >= windowMs;
    for (const r of activeOn(runs, instance.name)) {
      if (lost) actions.push({ type: 'fail', replicaId: r.id, reason: 'instance_unreachable', error: `instance ${instance.name} is unreachable` });
      else if (r.statusMessage !== UNREACHABLE_MESSAGE) actions.push({ type: 'flag', replicaId: r.id });
    }
  }
  return actions;
}

/** The replicas still on an instance taken out of its fleet: they fail and are replaced elsewhere. */
export function decideInstanceRemoved(runs: readonly RunRecord[], instance: string, why?: string): HostLossAction[] {
  const error = why ?? `instance ${instance} was removed from its fleet`;
  return activeOn(runs, instance).map((r) => ({ type: 'fail', replicaId: r.id, reason: 'instance_terminated', error }));
}

/** Carries out one action on the replica's current record; the record itself when there is nothing left to do. */
export function applyHostLoss(replica: ReplicaRecord, action: HostLossAction, now: number): ReplicaRecord {
  if (!isActive(replica)) return replica;
  if (action.type === 'flag') return replica.statusMessage === UNREACHABLE_MESSAGE ? replica : { ...replica, statusMessage: UNREACHABLE_MESSAGE };
  const message = action.reason === 'instance_unreachable' ? { statusMessage: UNREACHABLE_MESSAGE } : {};
  return { ...replica, ...message, status: 'failed', ready: false, reason: action.reason, error: action.error, finishedAt: now };
}

function activeOn(runs: readonly RunRecord[], instance: string): ReplicaRecord[] {
  return runs.filter((run) => !isRunFinished(run)).flatMap((run) => run.replicas.filter((r) => r.instance === instance && isActive(r)));
}
