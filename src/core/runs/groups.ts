/**
 * Replica groups of a run (dstack `groups` and `desired_replica_counts`): each group has its own range, scaling
 * and desired count. A run without `groups` is one implicit group "0" made of its top-level settings, so runs
 * stored before groups existed read the same. Replica numbers are unique across the run: each group takes its
 * numbers upward from the sum of the earlier groups' maxima (group "0" of a plain run starts at 0, as before).
 */
import type { GroupSettings, ReplicaRecord, RunRecord, RunSettings } from '../state/schema.js';

export const DEFAULT_GROUP = '0';

export const groupOf = (r: Pick<ReplicaRecord, 'group'>): string => r.group ?? DEFAULT_GROUP;

export function groupsOf(settings: RunSettings): GroupSettings[] {
  if (settings.groups) return settings.groups;
  const implicit: GroupSettings = { name: DEFAULT_GROUP, replicas: settings.replicas, autoscaling: settings.autoscaling };
  if (settings.scaling !== undefined) implicit.scaling = settings.scaling;
  return [implicit];
}

export interface GroupState extends GroupSettings {
  /** The group's desired replica count, within its range. */
  desired: number;
  /** The lowest replica number the group allocates from. */
  firstNum: number;
}

type DesiredFields = Pick<RunRecord, 'settings' | 'desiredReplicas' | 'desiredByGroup'>;

const clamp = (n: number, min: number, max: number) => Math.max(min, Math.min(max, Math.round(n)));

/** Each group with its desired count (a group never scaled yet wants its `min`) and where its numbers start. */
export function groupStates(run: DesiredFields): GroupState[] {
  let firstNum = 0;
  return groupsOf(run.settings).map((g) => {
    // The implicit group's count is `desiredReplicas` as stored (applyRun and setDesired clamp it when they set it).
    const desired = run.settings.groups ? clamp(run.desiredByGroup?.[g.name] ?? g.replicas.min, g.replicas.min, g.replicas.max) : run.desiredReplicas;
    const state: GroupState = { ...g, desired, firstNum };
    firstNum += g.replicas.max;
    return state;
  });
}

const pick = (groups: GroupState[], name: string | undefined): GroupState | undefined =>
  name === undefined ? (groups.find((g) => g.replicas.min < g.replicas.max) ?? groups[0]) : groups.find((g) => g.name === name);

/**
 * The run with group `group`'s desired count set to `n`, clamped to the group's range; `desiredReplicas` becomes
 * the sum over groups. Without `group`, the first group whose count can change (a range) is meant: the one a cold
 * start scales up. An unknown group changes nothing.
 */
export function withGroupDesired<T extends DesiredFields>(run: T, n: number, group?: string): T {
  const groups = groupStates(run);
  const target = pick(groups, group);
  if (!target) return run;
  target.desired = clamp(n, target.replicas.min, target.replicas.max);
  const desiredReplicas = groups.reduce((sum, g) => sum + g.desired, 0);
  // Unchanged counts give back the same record, so callers write (and wake the loop) only on a change.
  const stored = run.desiredByGroup;
  const same = desiredReplicas === run.desiredReplicas && (!run.settings.groups || groups.every((g) => stored?.[g.name] === g.desired));
  if (same) return run;
  if (!run.settings.groups) return { ...run, desiredReplicas };
  return { ...run, desiredReplicas, desiredByGroup: Object.fromEntries(groups.map((g) => [g.name, g.desired])) };
}

/** The desired count of `group` (default: the group `withGroupDesired` picks without one). */
export function desiredOf(run: DesiredFields, group?: string): number | undefined {
  return pick(groupStates(run), group)?.desired;
}
