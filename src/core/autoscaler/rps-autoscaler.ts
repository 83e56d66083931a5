/**
 * The RPS autoscaler, as dstack's `RPSAutoscaler.get_desired_count` (dstack-notes §3.1), pure:
 *   desired = clamp(ceil(rps / target), min, max)
 *   scale-up is held for `scaleUpDelay` after the last scaling event, scale-down for `scaleDownDelay`,
 *   and scaling up from zero happens at once (a cold start must not wait for a delay).
 * The caller passes the clock reading; nothing here reads time itself.
 */
export interface ScalingPolicy {
  min: number;
  max: number;
  /** Target requests per second per replica (> 0). */
  target: number;
  /** Averaging window in seconds: 30, 60 or 300. */
  windowSeconds: number;
  scaleUpDelaySeconds: number;
  scaleDownDelaySeconds: number;
}

export interface ScalingInput {
  /** The currently desired count (what the previous decision left). */
  current: number;
  /** Requests per second averaged over the policy's window; undefined when no stats exist yet. */
  rps: number | undefined;
  /** When replicas last started or stopped (ms), undefined if never. */
  lastScaledAt: number | undefined;
  now: number;
}

export interface ScalingDecision {
  desired: number;
  /** Why the decision is what it is: shown by `dstack ps -v` and logged by the daemon. */
  reason: 'no-stats' | 'steady' | 'scale-up' | 'scale-down' | 'cold-start' | 'up-delayed' | 'down-delayed' | 'clamped';
}

export function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}

export function desiredFromRps(rps: number, policy: ScalingPolicy): number {
  // A tiny epsilon keeps float noise (e.g. 10.000000001 / 10) from asking for one replica too many.
  return clamp(Math.ceil(rps / policy.target - 1e-9), policy.min, policy.max);
}

export function decideReplicas(policy: ScalingPolicy, input: ScalingInput): ScalingDecision {
  const { current, rps, lastScaledAt, now } = input;
  if (rps === undefined) {
    const clamped = clamp(current, policy.min, policy.max);
    return { desired: clamped, reason: clamped === current ? 'no-stats' : 'clamped' };
  }
  const desired = desiredFromRps(rps, policy);
  const sinceLast = lastScaledAt === undefined ? Infinity : (now - lastScaledAt) / 1000;
  if (desired > current) {
    if (current === 0) return { desired, reason: 'cold-start' };
    if (sinceLast < policy.scaleUpDelaySeconds) return { desired: current, reason: 'up-delayed' };
    return { desired, reason: 'scale-up' };
  }
  if (desired < current) {
    if (sinceLast < policy.scaleDownDelaySeconds) return { desired: current, reason: 'down-delayed' };
    return { desired, reason: 'scale-down' };
  }
  return { desired, reason: 'steady' };
}

/** A fixed replica count (no `scaling`): dstack's ManualScaler clamps the current desired count. */
export function manualReplicas(min: number, max: number, current: number): number {
  return clamp(current, min, max);
}
