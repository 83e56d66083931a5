/**
 * Readiness from probe results (dstack-notes §1.7): a probe's success streak counts consecutive 2xx answers; the
 * replica is ready once every probe reached `ready_after`. Probes only gate readiness: a ready replica is never
 * deregistered by a later failure (dstack does the same; continuous health checks are a separate feature).
 */
import type { ProbeState, ReplicaRecord, RunSettings } from '../state/schema.js';

export function initialProbes(settings: RunSettings): ProbeState[] {
  return settings.probes.map(() => ({ successStreak: 0 }));
}

/** Records one probe result; `index` -1 is the TCP check used when no probes are configured. */
export function applyProbeResult(replica: ReplicaRecord, settings: RunSettings, index: number, ok: boolean, now: number): ReplicaRecord {
  if (replica.status !== 'running') return replica;
  if (index < 0) {
    return ok && !replica.ready ? { ...replica, ready: true, readyAt: now } : replica;
  }
  const probes = settings.probes.map((_, i) => replica.probes[i] ?? { successStreak: 0 });
  const previous = probes[index];
  if (!previous) return replica;
  probes[index] = { successStreak: ok ? previous.successStreak + 1 : 0, lastOk: ok, lastAt: now };
  const allPassed = settings.probes.every((p, i) => (probes[i]?.successStreak ?? 0) >= p.readyAfter);
  const ready = replica.ready || allPassed;
  return { ...replica, probes, ready, ...(ready && !replica.ready ? { readyAt: now } : {}) };
}

/** A running replica with neither probes nor a TCP check is ready as soon as it runs. */
export function needsReadinessCheck(settings: RunSettings): boolean {
  return settings.probes.length > 0 || settings.tcpCheck;
}

/** Whether probe `index` should run now for `replica`. */
export function probeDue(replica: ReplicaRecord, settings: RunSettings, index: number, now: number): boolean {
  if (replica.status !== 'running' || replica.stop) return false;
  const probe = settings.probes[index];
  if (!probe) return false;
  if (probe.untilReady && replica.ready) return false;
  const last = replica.probes[index]?.lastAt;
  return last === undefined || now - last >= probe.intervalSeconds * 1000;
}
