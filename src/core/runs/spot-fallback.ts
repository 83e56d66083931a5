/**
 * Spot replicas with an on-demand fallback (issue 16; SkyServe's `base_ondemand_fallback_replicas` and
 * `dynamic_ondemand_fallback`, skyserve-notes §2.6), pure. A replica's capacity follows from its number, so a
 * restart or a replacement decides the same way: numbers below `on_demand_base` are on demand, the rest of the
 * desired count on spot, and numbers at or above the desired count are on-demand covers. With `dynamic`, each spot
 * number whose replica was lost with its instance (a preemption, a termination behind our back) or whose spot
 * instance could not be created is covered by one extra on-demand replica until a replica of that number is ready
 * again; then the surplus covers are drained (out of routing first, then stopped) and their instances go idle.
 *
 * SkyServe covers every spot replica that is not ready, new ones included; we cover only lost capacity, so a first
 * apply does not start (and pay for) an on-demand replica per spot replica while the spot ones boot.
 */
import type { ServiceConfig } from '../model/service.js';
import { reconcileRun, type Decision, type ReconcileContext } from '../reconcile/decide.js';
import { isLive } from '../reconcile/replica-status.js';
import type { InstanceRecord, ReplicaRecord, RunRecord } from '../state/schema.js';

export type Capacity = 'spot' | 'on-demand';

export interface FallbackPolicy {
  onDemandBase: number;
  dynamic: boolean;
}

/** Why a replica ended when its instance, not the replica, failed (host-loss.ts): the capacity went away. */
const CAPACITY_LOST: ReadonlySet<string> = new Set(['instance_terminated', 'instance_unreachable']);

/** The stop reason of a cover no longer needed. */
export const COVER_DRAINED = 'fallback_cover_drained';

export function fallbackPolicy(config: Pick<ServiceConfig, 'fallback' | 'groups'>): FallbackPolicy | undefined {
  // The schema refuses `fallback` with groups; a stored run from before that rule is treated as having none.
  if (!config.fallback || config.groups) return undefined;
  return { onDemandBase: config.fallback.on_demand_base, dynamic: config.fallback.dynamic };
}

/** The capacity replica `num` must run on while the run wants `desired` replicas. */
export function capacityFor(num: number, desired: number, policy: FallbackPolicy): Capacity {
  return num < policy.onDemandBase || num >= desired ? 'on-demand' : 'spot';
}

/** Whether an instance offers that capacity: spot only on spot cloud instances; SSH hosts count as on demand. */
export function instanceHasCapacity(instance: Pick<InstanceRecord, 'cloud'>, capacity: Capacity): boolean {
  return (instance.cloud?.spot === true) === (capacity === 'spot');
}

/** The capacity a replica of the run must be placed on; undefined = any (the run has no `fallback`). */
export function placementCapacity(run: Pick<RunRecord, 'config' | 'desiredReplicas'>, replica: Pick<ReplicaRecord, 'num'>): Capacity | undefined {
  const policy = fallbackPolicy(run.config);
  return policy ? capacityFor(replica.num, run.desiredReplicas, policy) : undefined;
}

/** Replicas (by id) whose spot instance could not be created: fleet growth for them failed. */
export function spotUnavailable(instances: readonly InstanceRecord[]): Set<string> {
  return new Set(instances.flatMap((i) => (i.forReplica?.spot === true && i.terminationReason === 'provisioning_failed' ? [i.forReplica.id] : [])));
}

export interface FallbackInput {
  policy: FallbackPolicy;
  desired: number;
  /** The run's replicas of its current deployment, every submission. */
  replicas: readonly ReplicaRecord[];
  spotUnavailable: ReadonlySet<string>;
}

export interface FallbackPlan {
  /** Spot numbers that need an on-demand cover now. */
  uncovered: number[];
  /** On-demand covers wanted on top of the desired count (`uncovered.length` with `dynamic`, else 0). */
  covers: number;
  /** Live covers beyond `covers`, least useful first (not ready, then highest number): drain and stop them. */
  drain: string[];
}

export function decideFallback({ policy, desired, replicas, spotUnavailable: unavailable }: FallbackInput): FallbackPlan {
  const uncovered: number[] = [];
  for (let num = policy.onDemandBase; num < desired; num++) {
    if (needsCover(replicas.filter((r) => r.num === num), unavailable)) uncovered.push(num);
  }
  const covers = policy.dynamic ? uncovered.length : 0;
  const live = replicas.filter((r) => isLive(r) && r.num >= desired);
  const drain = [...live]
    .sort((a, b) => Number(a.ready) - Number(b.ready) || b.num - a.num)
    .slice(0, Math.max(0, live.length - covers))
    .map((r) => r.id);
  return { uncovered, covers, drain };
}

/**
 * A spot number needs cover while none of its replicas serves and its capacity went away: its latest lost replica
 * (by submission) has no ready successor, or its current replica waits for a spot instance that could not be made.
 */
function needsCover(history: readonly ReplicaRecord[], unavailable: ReadonlySet<string>): boolean {
  if (history.some((r) => isLive(r) && r.ready)) return false;
  const lost = history.filter((r) => CAPACITY_LOST.has(r.reason ?? '')).sort((a, b) => b.submission - a.submission)[0];
  const recovered = lost !== undefined && history.some((r) => r.submission > lost.submission && r.readyAt !== undefined);
  if (lost !== undefined && !recovered) return true;
  return history.some((r) => isLive(r) && unavailable.has(r.id));
}

/**
 * `reconcileRun` for a run with a dynamic fallback: drains surplus covers, then decides with the covers added to the
 * desired count (so the covers are submitted, placed and replaced like any replica) and stores the run's own count.
 * `instances` is read only for such runs.
 */
export function reconcileWithFallback(run: RunRecord, ctx: ReconcileContext, instances: () => readonly InstanceRecord[]): Decision {
  const policy = fallbackPolicy(run.config);
  if (!policy?.dynamic || run.terminationReason !== undefined) return reconcileRun(run, ctx);
  const current = run.replicas.filter((r) => r.deployment === run.deployment);
  const plan = decideFallback({ policy, desired: run.desiredReplicas, replicas: current, spotUnavailable: spotUnavailable(instances()) });
  const drain = new Set(plan.drain);
  // As the reconciler's own stop: out of routing at once (ready false), then its stop effect drains in-flight requests.
  const drained: RunRecord = drain.size === 0 ? run : {
    ...run,
    replicas: run.replicas.map((r) => (drain.has(r.id) ? { ...r, ready: false, stop: { abort: false, reason: COVER_DRAINED, at: ctx.now } } : r)),
  };
  const input = plan.covers === 0 ? drained : { ...drained, desiredReplicas: run.desiredReplicas + plan.covers };
  const decision = reconcileRun(input, ctx);
  if (decision.run === input) return { run: drained, effects: decision.effects };
  return { run: { ...decision.run, desiredReplicas: run.desiredReplicas }, effects: decision.effects };
}
