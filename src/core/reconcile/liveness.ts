/**
 * Liveness after ready (issue 14). dstack's probes only gate readiness (a replica that stops answering keeps its
 * traffic, dstack #1349); SkyServe drops a failing replica from its load balancer and tears it down after 180 s.
 * Here, for a replica that was ready:
 * - `failure_threshold` consecutive failures of a probe make it unhealthy: not ready, so the route sync takes it out
 *   of routing at once (probes.ts records it);
 * - every probe back at `ready_after` successes before the grace period ends: ready again, nothing replaced;
 * - past the grace period it is replaced: stopped at once when other replicas serve, else (it is the service's last
 *   one) kept serving while a replacement starts, and stopped once one is ready.
 * The last point and `routable` are why a probe blip never leaves a service with nothing to route to: like AWS
 * ALB's fail-open, a replica that was ready and fails its probes is still routed when no replica is ready at all.
 *
 * Replicas without probes: the TCP check gates readiness only. It cannot tell a server busy with a long request from a
 * dead one (an open port that answers slowly counts as listening), so as liveness it would pull replicas exactly
 * under load; a process that dies is already replaced through its exit. Liveness needs an HTTP probe.
 */
import type { ProbeSettings, ReplicaRecord, RunRecord, RunSettings } from '../state/schema.js';
import { DEFAULT_FAILURE_THRESHOLD } from '../model/probe-defaults.js';
import { groupOf, groupStates } from '../runs/groups.js';
import { isLive } from './replica-status.js';

/** SkyServe's `_consecutive_failure_threshold_timeout`. */
export const DEFAULT_UNHEALTHY_GRACE_MS = 180_000;

/** `DSTACK_UNHEALTHY_GRACE_SECONDS` on the server (fractions allowed: tests use 1-2 s), else 180 s. */
export function unhealthyGraceFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.DSTACK_UNHEALTHY_GRACE_SECONDS;
  const n = raw === undefined || raw.trim() === '' ? NaN : Number(raw);
  return Number.isFinite(n) && n >= 0 ? n * 1000 : DEFAULT_UNHEALTHY_GRACE_MS;
}

export const failureThreshold = (p: ProbeSettings): number => p.failureThreshold ?? DEFAULT_FAILURE_THRESHOLD;

/** Past its grace period, kept serving only until its replacement is ready: the group's count leaves it out. */
export const isBeingReplaced = (r: ReplicaRecord): boolean => r.unhealthy?.replacing === true;

/**
 * Readiness and liveness after a probe result (`replica.probes` already holds it): a new record, or `replica`.
 * `detail` says how the probe failed (`HTTP 500`, `timed out after 10s`), for the reason users see.
 */
export function judgeProbes(replica: ReplicaRecord, settings: RunSettings, index: number, now: number, detail?: string): ReplicaRecord {
  const allPassed = settings.probes.every((p, i) => (replica.probes[i]?.successStreak ?? 0) >= p.readyAfter);
  if (!replica.ready && replica.unhealthy === undefined) {
    return allPassed ? { ...replica, ready: true, readyAt: now } : replica;
  }
  if (replica.unhealthy !== undefined) {
    if (!allPassed) return replica;
    const { unhealthy: _recovered, ...rest } = replica;
    return { ...rest, ready: true };
  }
  const probe = settings.probes[index];
  const streak = replica.probes[index]?.failureStreak ?? 0;
  // `until_ready` probes stop once the replica is ready: dstack's meaning, readiness only.
  if (!probe || probe.untilReady || streak < failureThreshold(probe)) return replica;
  const reason = `${probe.method.toUpperCase()} ${probe.url} failed ${streak} times in a row (${detail ?? 'failed'})`;
  return { ...replica, ready: false, unhealthy: { since: now, reason } };
}

/**
 * The replicas a route lists, from those that run and are reachable: the ready ones, or when none is ready the ones
 * that were ready and turned unhealthy (fail open: a replica failing its probes may still answer; no replica surely
 * does not).
 */
export function routable<R extends ReplicaRecord>(candidates: readonly R[]): R[] {
  const up = candidates.filter((r) => r.status === 'running' && r.stop === undefined);
  const ready = up.filter((r) => r.ready);
  return ready.length > 0 ? ready : up.filter((r) => r.unhealthy !== undefined);
}

/**
 * Replicas unhealthy for longer than `graceMs` (a draft being decided on): stopped through `stop` when they serve
 * nothing or their group wants none; else marked `replacing`, which makes the group start a replacement. Runs
 * before the groups scale, every pass, so a replacement that became ready retires the replica it replaces.
 */
export function retireUnhealthy(run: RunRecord, now: number, graceMs: number, stop: (r: ReplicaRecord) => void): void {
  const serving = new Set(routable(run.replicas).map((r) => r.id));
  const desired = new Map(groupStates(run).map((g) => [g.name, g.desired]));
  for (const r of run.replicas) {
    if (!isLive(r) || r.unhealthy === undefined || now - r.unhealthy.since < graceMs) continue;
    if (serving.has(r.id) && (desired.get(groupOf(r)) ?? 0) > 0) {
      if (!r.unhealthy.replacing) r.unhealthy = { ...r.unhealthy, replacing: true };
    } else {
      stop(r);
    }
  }
}
