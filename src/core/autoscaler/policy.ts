/**
 * Which replica groups the autoscaler drives and with what policy (dstack-notes §3.1). A group autoscales when its
 * `scaling` block is set: its range is [min, max] and the block's target, window and delays (seconds, normalized by
 * the config language) feed `decideReplicas`. A run without `groups` is one implicit group.
 */
import { groupOf, groupsOf } from '../runs/groups.js';
import { isLive } from '../reconcile/replica-status.js';
import type { GroupSettings, ReplicaRecord, RunRecord } from '../state/schema.js';
import type { ScalingPolicy } from './rps-autoscaler.js';

/** The scaling policy of one replica group, undefined for a group with a fixed count. */
export function groupPolicy(group: GroupSettings): ScalingPolicy | undefined {
  const s = group.scaling;
  if (!group.autoscaling || !s) return undefined;
  return {
    min: group.replicas.min,
    max: group.replicas.max,
    target: s.target,
    windowSeconds: s.window,
    scaleUpDelaySeconds: s.scale_up_delay,
    scaleDownDelaySeconds: s.scale_down_delay,
  };
}

/** The policy of the run's first autoscaled group (the window `dstack ps` averages rps over). */
export function policyOf(run: Pick<RunRecord, 'settings'>): ScalingPolicy | undefined {
  for (const g of groupsOf(run.settings)) {
    const policy = groupPolicy(g);
    if (policy) return policy;
  }
  return undefined;
}

/** dstack: the last scaling event is the latest replica submission or finish (here: of the group). */
export function lastReplicaChange(replicas: readonly ReplicaRecord[]): number | undefined {
  const times = replicas.flatMap((r) => (r.finishedAt !== undefined ? [r.submittedAt, r.finishedAt] : [r.submittedAt]));
  return times.length > 0 ? Math.max(...times) : undefined;
}

/** dstack leaves a group in a rolling deployment alone: the rollout owns its count until it is done. */
export function rollingOut(run: Pick<RunRecord, 'replicas' | 'deployment'>, group: string): boolean {
  return run.replicas.some((r) => isLive(r) && groupOf(r) === group && r.deployment < run.deployment);
}
