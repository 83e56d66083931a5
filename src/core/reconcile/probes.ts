/**
 * Probe results (dstack-notes §1.7): a probe's success streak counts consecutive 2xx answers; the replica is ready
 * once every probe reached `ready_after`. Unlike dstack, probes go on checking a ready replica: its failure streak
 * against `failure_threshold` decides liveness (liveness.ts).
 */
import type { ProbeState, ReplicaRecord, RunSettings } from '../state/schema.js';
import { judgeProbes } from './liveness.js';

export function initialProbes(settings: RunSettings): ProbeState[] {
  return settings.probes.map(() => ({ successStreak: 0 }));
}

/**
 * Records one probe result; `index` -1 is the TCP check used when no probes are configured. `detail` says how a
 * failed probe failed (`HTTP 500`), for the reason an unhealthy replica shows.
 */
export function applyProbeResult(replica: ReplicaRecord, settings: RunSettings, index: number, ok: boolean, now: number, detail?: string): ReplicaRecord {
  if (replica.status !== 'running') return replica;
  if (index < 0) {
    return ok && !replica.ready ? { ...replica, ready: true, readyAt: now } : replica;
  }
  const probes = settings.probes.map((_, i) => replica.probes[i] ?? { successStreak: 0 });
  const previous = probes[index];
  if (!previous) return replica;
  const failureStreak = ok ? 0 : (previous.failureStreak ?? 0) + 1;
  probes[index] = { successStreak: ok ? previous.successStreak + 1 : 0, lastOk: ok, lastAt: now, ...(failureStreak > 0 ? { failureStreak } : {}) };
  return judgeProbes({ ...replica, probes }, settings, index, now, detail);
}

/** A running replica with neither probes nor a TCP check is ready as soon as it runs. */
export function needsReadinessCheck(settings: RunSettings): boolean {
  return settings.probes.length > 0 || settings.tcpCheck;
}

/** Whether probe `index` should run now for `replica`. */
export function probeDue(replica: ReplicaRecord, settings: RunSettings, index: number, now: number): boolean {
  return probeDueIn(replica, settings, index, now) === 0;
}

/** Ms until probe `index` of `replica` is due: 0 = now, undefined = it does not run (stopped, or `until_ready`). */
export function probeDueIn(replica: ReplicaRecord, settings: RunSettings, index: number, now: number): number | undefined {
  if (replica.status !== 'running' || replica.stop) return undefined;
  const probe = settings.probes[index];
  if (!probe) return undefined;
  if (probe.untilReady && replica.ready) return undefined;
  const last = replica.probes[index]?.lastAt;
  return last === undefined ? 0 : Math.max(0, last + probe.intervalSeconds * 1000 - now);
}
