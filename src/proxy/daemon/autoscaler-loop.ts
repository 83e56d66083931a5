/**
 * The autoscaler loop (DESIGN.md §4 "autoscaling"): every tick, each active run with `scaling` gets its desired
 * replica count from the pure `decideReplicas`, fed with the requests per second over the run's window. The
 * reconciler does the rest (which replicas stop, draining them first). Time comes from the injected clock.
 */
import { decideReplicas, type ScalingPolicy } from '../../core/autoscaler/index.js';
import type { RunRecord } from '../../core/state/schema.js';

/** Where the loop reads load from (ServiceStats in the daemon, a fake in tests). */
export interface LoadSource {
  /** Requests per second over the last `windowSeconds` (30, 60 or 300) before `now`. */
  rps(project: string, run: string, windowSeconds: number, now: number): number | undefined;
  inFlight(project: string, run: string): number;
}

export interface AutoscalerLoopOptions {
  runs: () => readonly RunRecord[];
  load: LoadSource;
  /** `ControlPlane.setDesiredReplicas`: clamps to the range and wakes the reconciler. */
  setDesired: (project: string, name: string, n: number) => number | undefined;
  clock: () => number;
  /** Default 3 s. */
  tickMs?: number;
  log?: (line: string) => void;
}

interface NormalizedScaling {
  target: number;
  window: number;
  scale_up_delay: number;
  scale_down_delay: number;
}

export function policyOf(run: RunRecord): ScalingPolicy | undefined {
  const s = run.settings.scaling as NormalizedScaling | undefined;
  if (!run.settings.autoscaling || !s) return undefined;
  return {
    min: run.settings.replicas.min,
    max: run.settings.replicas.max,
    target: s.target,
    windowSeconds: s.window,
    scaleUpDelaySeconds: s.scale_up_delay,
    scaleDownDelaySeconds: s.scale_down_delay,
  };
}

/** dstack: the last scaling event is the latest replica submission or finish of the run. */
export function lastReplicaChange(run: RunRecord): number | undefined {
  const times = run.replicas.flatMap((r) => (r.finishedAt !== undefined ? [r.submittedAt, r.finishedAt] : [r.submittedAt]));
  return times.length > 0 ? Math.max(...times) : undefined;
}

const isDone = (run: RunRecord) => run.status === 'terminated' || run.status === 'failed' || run.status === 'done' || run.terminationReason !== undefined;

export class AutoscalerLoop {
  /** Desired counts as last seen, and when they changed: a cold start sets desired before any replica exists. */
  private readonly seen = new Map<string, { desired: number; at: number }>();

  constructor(private readonly o: AutoscalerLoopOptions) {}

  tick(): void {
    const now = this.o.clock();
    const active = new Set<string>();
    for (const run of this.o.runs()) {
      const policy = policyOf(run);
      if (!policy || isDone(run)) continue;
      active.add(run.id);
      const seen = this.seen.get(run.id);
      if (!seen || seen.desired !== run.desiredReplicas) this.seen.set(run.id, { desired: run.desiredReplicas, at: seen ? now : -Infinity });
      const changedAt = this.seen.get(run.id)!.at;
      const replicaAt = lastReplicaChange(run);
      const lastScaledAt = Math.max(changedAt, replicaAt ?? -Infinity);
      const rps = this.o.load.rps(run.project, run.name, policy.windowSeconds, now);
      const decision = decideReplicas(policy, {
        current: run.desiredReplicas,
        rps,
        lastScaledAt: Number.isFinite(lastScaledAt) ? lastScaledAt : undefined,
        now,
      });
      // A request still in flight (held for a cold start, or a long stream) keeps one replica.
      const desired = decision.desired === 0 && this.o.load.inFlight(run.project, run.name) > 0 ? 1 : decision.desired;
      if (desired === run.desiredReplicas) continue;
      const next = this.o.setDesired(run.project, run.name, desired);
      if (next === undefined) continue;
      this.seen.set(run.id, { desired: next, at: now });
      this.o.log?.(`autoscaler: ${run.project}/${run.name} ${run.desiredReplicas} → ${next} (${decision.reason}, rps ${rps?.toFixed(2) ?? '-'})`);
    }
    for (const id of this.seen.keys()) if (!active.has(id)) this.seen.delete(id);
  }

  /** Ticks every `tickMs` until the returned stop is called. */
  start(): () => void {
    const timer = setInterval(() => {
      try {
        this.tick();
      } catch (e) {
        this.o.log?.(`autoscaler error: ${(e as Error).stack ?? e}`);
      }
    }, this.o.tickMs ?? 3_000);
    timer.unref();
    return () => clearInterval(timer);
  }
}
