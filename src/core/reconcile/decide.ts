/**
 * The reconciler's decisions for one run, pure: the run as stored in, the run as it should be plus the effects
 * to carry out (start or stop a replica on its agent). The daemon loop calls it every tick and on agent events;
 * effects are idempotent by replica id, so repeating a decision is harmless.
 *
 * Rules (DESIGN.md §3-4, dstack-notes §1.8):
 * - missing replicas are submitted; a failed one (or one that exited by itself, even with 0) is replaced after a backoff (15s, 30s, 1m, ... × base) and does
 *   not fail the run — unless every replica of the deployment failed `crashLoopLimit` times in a row without
 *   ever becoming ready (crash-loop guard) and `retry` does not allow more within its duration;
 * - a new deployment rolls with max surge 1: one new replica, wait until it is ready, stop one old; repeat;
 * - scale-down stops the least important replicas first (not ready, then highest number);
 * - a replica unhealthy past its grace period is replaced (liveness.ts);
 * - all of the above per replica group (`groups`), each with its own desired count; numbers are unique in the run;
 * - `max_duration` and stop requests end the run; replicas never sent to an agent just end.
 */
import { pickReplicasToStop, type ScaleCandidate } from '../autoscaler/scale-down.js';
import { groupOf, groupStates, type GroupState } from '../runs/groups.js';
import type { ReplicaRecord, RunRecord } from '../state/schema.js';
import { backoffDelayMs } from './backoff.js';
import { DEFAULT_UNHEALTHY_GRACE_MS, isBeingReplaced, retireUnhealthy } from './liveness.js';
import { initialProbes } from './probes.js';
import { isActive, isLive } from './replica-status.js';
import { keepUnchanged } from './same.js';
import { computeRunStatus, isRunFinished, terminationStatus } from './run-status.js';

export interface ReconcileContext {
  now: number;
  backoffBaseMs: number;
  /** Consecutive failures per replica before the crash-loop guard fails the run (3). */
  crashLoopLimit: number;
  /** Where new replicas go; without `instance` (fleets) the loop's placement picks one when it starts them. */
  backend: string;
  instance?: string;
  /** How long an unhealthy replica may recover before it is replaced (liveness.ts; default 180 s). */
  unhealthyGraceMs?: number;
}

export type Effect =
  | { type: 'start'; replicaId: string }
  | { type: 'stop'; replicaId: string; abort: boolean; timeoutSeconds: number }
  /** A finished replica's container/process is no longer needed (kept until then for `dstack logs`). */
  | { type: 'remove'; replicaId: string };

export interface Decision {
  /** The run as it should be: `input` itself when nothing changed (the loop writes only real changes). */
  run: RunRecord;
  effects: Effect[];
}

/** Final records kept per replica number (older ones are dropped so state does not grow forever). */
const HISTORY_PER_NUM = 6;

export function reconcileRun(input: RunRecord, ctx: ReconcileContext): Decision {
  const run: RunRecord = { ...input, replicas: input.replicas.map((r) => ({ ...r })) };
  if (isRunFinished(run)) return { run: input, effects: [] };
  const max = run.settings.maxDurationSeconds;
  if (!run.terminationReason && max !== undefined && ctx.now - run.submittedAt > max * 1000) {
    endRun(run, 'max_duration_exceeded', 'max duration exceeded');
  }
  if (!run.terminationReason) checkCrashLoop(run, ctx);
  if (run.terminationReason) {
    const abort = run.terminationReason === 'aborted_by_user';
    for (const r of run.replicas.filter(isLive)) requestStop(r, abort, run.terminationReason, ctx.now);
  } else {
    retireUnhealthy(run, ctx.now, ctx.unhealthyGraceMs ?? DEFAULT_UNHEALTHY_GRACE_MS, (r) => requestStop(r, false, 'unhealthy', ctx.now));
    reconcileGroups(run, ctx);
  }
  const effects = finishUnsent(run, ctx.now);
  const before = new Set(run.replicas.map((r) => r.id));
  pruneHistory(run);
  effects.push(...sweep(run, input.replicas.filter((r) => before.has(r.id) && !run.replicas.some((k) => k.id === r.id))));
  Object.assign(run, computeRunStatus(run, ctx.now));
  if (run.status === 'terminating' && !run.replicas.some(isActive)) {
    run.status = terminationStatus(run.terminationReason);
    run.finishedAt ??= ctx.now;
  }
  return { run: keepUnchanged(input, run), effects };
}

/** The run asked to end (a new record; an earlier reason wins); the next decisions stop its replicas. */
export function endedRun(run: RunRecord, reason: string, message?: string): RunRecord {
  const next = { ...run };
  endRun(next, reason, message);
  return next;
}

/** Asks the run (a draft being decided on) to end. */
function endRun(run: RunRecord, reason: string, message?: string): void {
  run.terminationReason ??= reason;
  if (message !== undefined) run.statusMessage = message;
}

function requestStop(r: ReplicaRecord, abort: boolean, reason: string, now: number): void {
  r.stop ??= { abort, reason, at: now };
  r.ready = false;
}

/** Start effects for replicas not yet sent; stop effects for replicas being stopped; unsent stops just end. */
function finishUnsent(run: RunRecord, now: number): Effect[] {
  const effects: Effect[] = [];
  for (const r of run.replicas) {
    if (!isActive(r)) continue;
    if (r.stop && r.status === 'submitted') {
      Object.assign(r, { status: r.stop.abort ? 'aborted' : 'terminated', finishedAt: now, reason: r.stop.reason, removed: true });
    } else if (r.stop) {
      r.status = 'terminating';
      const timeoutSeconds = r.stop.abort ? 0 : run.settings.stopDurationSeconds;
      effects.push({ type: 'stop', replicaId: r.id, abort: r.stop.abort, timeoutSeconds });
    } else if (r.status === 'submitted') {
      effects.push({ type: 'start', replicaId: r.id });
    }
  }
  return effects;
}

/**
 * Each replica group on its own (a run without `groups` is one group "0"): a group with replicas of an older
 * deployment rolls, the others scale to their desired count. Replicas of a group a re-apply removed stop.
 * Replica numbers stay unique across the run's deployment: `used` holds them, including the ones just submitted.
 */
function reconcileGroups(run: RunRecord, ctx: ReconcileContext): void {
  const groups = groupStates(run);
  if (run.settings.groups) run.desiredReplicas = groups.reduce((sum, g) => sum + g.desired, 0);
  // A new deployment's replica takes over the number of the old one it replaces (a new submission of it).
  const used = new Set(run.replicas.filter((r) => isLive(r) && r.deployment === run.deployment).map((r) => r.num));
  const names = new Set(groups.map((g) => g.name));
  retireRemovedGroups(run, groups, names, ctx);
  for (const g of groups) {
    if (run.replicas.some((r) => isLive(r) && groupOf(r) === g.name && r.deployment < run.deployment)) rollOut(run, g, used, ctx);
    else scale(run, g, used, ctx);
  }
}

/**
 * Replicas of a group a re-apply removed (e.g. a plain service that moved to `groups:`) keep serving until the
 * groups' new replicas are ready: each ready one in the run's groups retires one of them, so the service never
 * has fewer ready replicas than it wants during the change. Those that serve nothing stop at once.
 */
function retireRemovedGroups(run: RunRecord, groups: GroupState[], names: Set<string>, ctx: ReconcileContext): void {
  const removed = run.replicas.filter((r) => isLive(r) && !names.has(groupOf(r)));
  if (removed.length === 0) return;
  for (const r of removed) if (!r.ready) requestStop(r, false, 'scaled_down', ctx.now);
  const serving = removed.filter((r) => r.ready);
  const wanted = groups.reduce((sum, g) => sum + g.desired, 0);
  const readyInGroups = run.replicas.filter((r) => isLive(r) && names.has(groupOf(r)) && r.ready).length;
  const excess = Math.max(0, readyInGroups + serving.length - wanted);
  for (const r of byImportance(serving).reverse().slice(0, excess)) requestStop(r, false, 'scaled_down', ctx.now);
}

/** Submits `count` replicas of group `g` on free numbers from the group's first one up (waiting out backoffs). */
function submitMissing(run: RunRecord, g: GroupState, count: number, used: Set<number>, ctx: ReconcileContext): void {
  for (let num = g.firstNum, missing = count; missing > 0; num++) {
    if (used.has(num)) continue;
    missing--;
    used.add(num);
    if (readyToSubmit(run, num, ctx)) submit(run, num, g.name, ctx);
  }
}

function scale(run: RunRecord, g: GroupState, used: Set<number>, ctx: ReconcileContext): void {
  // A replica being replaced still serves, but no longer counts: its replacement is what the group is missing.
  const live = run.replicas.filter((r) => isLive(r) && groupOf(r) === g.name && r.deployment === run.deployment && !isBeingReplaced(r));
  if (live.length > g.desired) {
    // The reconciler's stop effect drains each victim's in-flight requests before its container stops.
    const candidates = live.map((r) => ({ num: r.num, deployment: r.deployment, status: candidateStatus(r), ready: r.ready, replica: r }));
    for (const c of pickReplicasToStop(candidates, live.length - g.desired, run.deployment)) requestStop(c.replica, false, 'scaled_down', ctx.now);
    return;
  }
  submitMissing(run, g, g.desired - live.length, used, ctx);
}

function rollOut(run: RunRecord, g: GroupState, used: Set<number>, ctx: ReconcileContext): void {
  const n = g.desired;
  const ofGroup = (r: ReplicaRecord) => isLive(r) && groupOf(r) === g.name;
  const outdated = () => run.replicas.filter((r) => ofGroup(r) && r.deployment < run.deployment);
  // Old replicas that serve nothing are stopped at once: they cannot protect availability (an unhealthy one may).
  for (const r of outdated()) if (!(r.status === 'running' && (r.ready || r.unhealthy))) requestStop(r, false, 'deployment_replaced', ctx.now);
  const current = run.replicas.filter((r) => ofGroup(r) && r.deployment === run.deployment);
  const currentReady = current.filter((r) => r.ready).length;
  let old = outdated();
  // Each new ready replica retires one old one (keep at most n serving, never fewer than before).
  const retire = byImportance(old).reverse();
  while (old.length > 0 && currentReady + old.length > n) {
    const victim = retire.shift();
    if (!victim) break;
    requestStop(victim, false, 'deployment_replaced', ctx.now);
    old = outdated();
  }
  const starting = current.filter((r) => !r.ready).length;
  const total = current.length + old.length;
  const budget = current.length < n ? Math.max(starting === 0 && total < n + 1 ? 1 : 0, n - total) : 0;
  submitMissing(run, g, budget, used, ctx);
}

function latestOf(run: RunRecord, num: number): ReplicaRecord | undefined {
  return run.replicas.filter((r) => r.num === num).sort((a, b) => b.submission - a.submission)[0];
}

function candidateStatus(r: ReplicaRecord): ScaleCandidate['status'] {
  return r.status === 'running' || r.status === 'provisioning' || r.status === 'pulling' ? r.status : 'submitted';
}

/** Most important first: ready, then running, then further along; lower numbers first. */
function byImportance(replicas: ReplicaRecord[]): ReplicaRecord[] {
  const rank = (r: ReplicaRecord) =>
    r.ready ? 3 : r.status === 'running' ? 2 : r.status === 'pulling' || r.status === 'provisioning' ? 1 : 0;
  return [...replicas].sort((a, b) => rank(b) - rank(a) || a.num - b.num);
}

/** Consecutive failures of replica `num` in the current deployment since it last became ready. */
export function consecutiveFailures(run: RunRecord, num: number): { count: number; lastFinishedAt?: number; last?: ReplicaRecord } {
  const history = run.replicas
    .filter((r) => r.num === num && r.deployment === run.deployment)
    .sort((a, b) => b.submission - a.submission);
  let count = 0;
  // A service runs until stopped: exiting on its own, even with 0, counts as a failure to replace.
  const exitedByItself = (r: ReplicaRecord) => r.status === 'failed' || r.status === 'done';
  for (const r of history) {
    if (r.readyAt !== undefined || !exitedByItself(r)) break;
    count++;
  }
  const last = history.find(exitedByItself);
  return { count, ...(last ? { last, ...(last.finishedAt !== undefined ? { lastFinishedAt: last.finishedAt } : {}) } : {}) };
}

function readyToSubmit(run: RunRecord, num: number, ctx: ReconcileContext): boolean {
  const { count, lastFinishedAt } = consecutiveFailures(run, num);
  if (count === 0 || lastFinishedAt === undefined) return true;
  return ctx.now >= lastFinishedAt + backoffDelayMs(count, ctx.backoffBaseMs);
}

function submit(run: RunRecord, num: number, group: string, ctx: ReconcileContext): void {
  const previous = run.replicas.filter((r) => r.num === num).map((r) => r.submission);
  const submission = previous.length > 0 ? Math.max(...previous) + 1 : run.submissionBase;
  run.replicas.push({
    id: `${run.name}-${num}-${submission}`,
    num,
    // Only runs with explicit groups label their replicas: plain runs keep the records they always had.
    ...(run.settings.groups ? { group } : {}),
    submission,
    deployment: run.deployment,
    status: 'submitted',
    ready: false,
    probes: initialProbes(run.settings),
    backend: ctx.backend,
    ...(ctx.instance !== undefined ? { instance: ctx.instance } : {}),
    submittedAt: ctx.now,
  });
}

function checkCrashLoop(run: RunRecord, ctx: ReconcileContext): void {
  const n = run.desiredReplicas;
  // Old replicas still serving: a bad update must not take the working service down with it.
  if (n === 0 || run.replicas.some((r) => isLive(r) && r.deployment < run.deployment)) return;
  const deployment = run.replicas.filter((r) => r.deployment === run.deployment);
  if (deployment.some((r) => r.readyAt !== undefined) || deployment.some(isLive)) return;
  const nums = groupStates(run).flatMap((g) => Array.from({ length: g.desired }, (_, i) => g.firstNum + i));
  const failures = nums.map((num) => consecutiveFailures(run, num));
  if (!failures.every((f) => f.count >= ctx.crashLoopLimit)) return;
  const retry = run.settings.retry;
  if (retry && retry.onEvents.includes('error') && ctx.now - run.submittedAt < retry.durationSeconds * 1000) return;
  const last = failures.map((f) => f.last).filter((r): r is ReplicaRecord => r !== undefined).sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0))[0];
  endRun(run, retry ? 'retry_limit_exceeded' : 'job_failed');
  run.error = last?.error ?? last?.statusMessage ?? 'replicas keep failing';
}

/**
 * Finished replicas whose containers can go: all of them once the run ends, else every one but the latest
 * submission of its number (kept for `dstack logs`), and the ones dropped from history.
 */
function sweep(run: RunRecord, dropped: ReplicaRecord[]): Effect[] {
  const ending = run.terminationReason !== undefined;
  const candidates = [...dropped, ...run.replicas.filter((r) => !isActive(r) && (ending || latestOf(run, r.num)?.id !== r.id))];
  return candidates.filter((r) => !r.removed && r.status !== 'submitted').map((r) => ({ type: 'remove' as const, replicaId: r.id }));
}

function pruneHistory(run: RunRecord): void {
  const kept: ReplicaRecord[] = [];
  const finalSeen = new Map<number, number>();
  for (const r of [...run.replicas].sort((a, b) => b.submission - a.submission)) {
    if (isActive(r)) {
      kept.push(r);
      continue;
    }
    const seen = finalSeen.get(r.num) ?? 0;
    if (seen < HISTORY_PER_NUM) kept.push(r);
    finalSeen.set(r.num, seen + 1);
  }
  run.replicas = kept.sort((a, b) => a.num - b.num || a.submission - b.submission);
}
