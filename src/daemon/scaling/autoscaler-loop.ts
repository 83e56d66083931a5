/**
 * The autoscaler loop (DESIGN.md §4 "autoscaling"): every tick, each replica group with `scaling` (a plain run is
 * one group) gets its desired count from the pure `decideReplicas`, fed with the service's requests per second
 * over the group's window. The reconciler does the rest (which replicas stop, draining them first). When a
 * service's last run finishes, its load is forgotten. Time comes from the injected clock.
 */
import {
  decideReplicas,
  groupPolicy,
  lastReplicaChange,
  rollingOut,
  type ScalingDecision,
  type ScalingPolicy,
} from '../../core/autoscaler/index.js';
import { isRunEnding, isRunFinished } from '../../core/reconcile/index.js';
import { groupOf, groupStates, type GroupState } from '../../core/runs/index.js';
import type { RunRecord } from '../../core/state/schema.js';
import { nodeScheduler, type Scheduler } from '../reconcile/scheduler.js';

// Run views read the policies from here too; they live in core now.

/** Where the loop reads load from (ServiceStats in the daemon, a fake in tests). */
export interface LoadSource {
  /** Requests per second over the last `windowSeconds` (30, 60 or 300) before `now`. */
  rps(project: string, run: string, windowSeconds: number, now: number): number | undefined;
  inFlight(project: string, run: string): number;
  /** Drops what is kept about a service whose run finished (request stats, rate-limit buckets). */
  forget?(project: string, run: string): void;
}

export interface AutoscalerLoopOptions {
  runs: () => readonly RunRecord[];
  load: LoadSource;
  /**
   * `ControlPlane.setDesiredReplicas`: sets one replica group's desired count (clamped to its range) and wakes the
   * reconciler; returns the group's count in effect, undefined when the run is not active.
   */
  setDesired: (project: string, name: string, n: number, group: string) => number | undefined;
  clock: () => number;
  /** Default 3 s. */
  tickMs?: number;
  /** Default: node timers. */
  scheduler?: Scheduler;
  log?: (line: string) => void;
}

export class AutoscalerLoop {
  /** Desired counts per run group as last seen, and when they changed: a cold start sets desired before any replica exists. */
  private readonly seen = new Map<string, { desired: number; at: number }>();
  /** Services (`project/name`) with an unfinished run at the last tick: their load is forgotten once none is left. */
  private services = new Set<string>();

  constructor(private readonly o: AutoscalerLoopOptions) {}

  tick(): void {
    const now = this.o.clock();
    const active = new Set<string>();
    const runs = this.o.runs();
    for (const run of runs) {
      if (isRunEnding(run)) continue;
      const groups = groupStates(run);
      // A request still in flight (held for a cold start, or a long stream) keeps one replica in the run.
      let keepOne = this.o.load.inFlight(run.project, run.name) > 0 && !groups.some((g) => !groupPolicy(g) && g.desired > 0);
      for (const g of groups) {
        const policy = groupPolicy(g);
        if (!policy) continue;
        const key = `${run.id}/${g.name}`;
        active.add(key);
        const decision = this.decide(run, g, policy, key, now);
        const desired = decision.desired === 0 && keepOne ? 1 : decision.desired;
        if (desired > 0) keepOne = false;
        if (desired === g.desired) continue;
        if (rollingOut(run, g.name)) continue;
        const next = this.o.setDesired(run.project, run.name, desired, g.name);
        if (next === undefined) continue;
        this.seen.set(key, { desired: next, at: now });
        const label = run.settings.groups ? ` group ${g.name}` : '';
        this.o.log?.(`autoscaler: ${run.project}/${run.name}${label} ${g.desired} → ${next} (${decision.reason}, rps ${decision.rps?.toFixed(2) ?? '-'})`);
      }
    }
    for (const id of this.seen.keys()) if (!active.has(id)) this.seen.delete(id);
    this.forgetFinished(runs);
  }

  private decide(run: RunRecord, g: GroupState, policy: ScalingPolicy, key: string, now: number): ScalingDecision & { rps: number | undefined } {
    const seen = this.seen.get(key);
    if (!seen || seen.desired !== g.desired) this.seen.set(key, { desired: g.desired, at: seen ? now : -Infinity });
    const changedAt = this.seen.get(key)!.at;
    const replicaAt = lastReplicaChange(run.replicas.filter((r) => groupOf(r) === g.name));
    const lastScaledAt = Math.max(changedAt, replicaAt ?? -Infinity);
    // Every group sees the same service-wide load, each against its own window and target (as dstack does).
    const rps = this.o.load.rps(run.project, run.name, policy.windowSeconds, now);
    const decision = decideReplicas(policy, {
      current: g.desired,
      rps,
      lastScaledAt: Number.isFinite(lastScaledAt) ? lastScaledAt : undefined,
      now,
    });
    return { ...decision, rps };
  }

  /** Stats and rate-limit buckets are keyed by service name: a finished run's must not reach a new run of that name. */
  private forgetFinished(runs: readonly RunRecord[]): void {
    const services = new Set(runs.filter((r) => !isRunFinished(r)).map((r) => `${r.project}/${r.name}`));
    for (const key of this.services) {
      if (services.has(key)) continue;
      const [project = '', name = ''] = key.split('/');
      this.o.load.forget?.(project, name);
    }
    this.services = services;
  }

  /** Ticks every `tickMs` until the returned stop is called. */
  start(): () => void {
    const scheduler = this.o.scheduler ?? nodeScheduler;
    let cancel = (): void => {};
    let stopped = false;
    const arm = (): void => {
      cancel = scheduler.setTimeout(() => {
        try {
          this.tick();
        } catch (e) {
          this.o.log?.(`autoscaler error: ${(e as Error).stack ?? e}`);
        }
        if (!stopped) arm();
      }, this.o.tickMs ?? 3_000);
    };
    arm();
    return () => {
      stopped = true;
      cancel();
    };
  }
}
