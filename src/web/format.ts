/**
 * What the pages print: times in the browser's locale, request rates, replica counts, status tones. Pure; the locale
 * and time zone can be passed in, so the unit tests are deterministic.
 */
import type { ReplicaView, RunView } from '../core/api.js';
import { isFinal } from '../core/reconcile/replica-status.js';
import { isRunFinished } from '../core/reconcile/run-status.js';
import { statusTone } from '../ui/colors.js';

export type Tone = 'ok' | 'info' | 'warn' | 'bad' | 'muted';

// The CLI's status colours (ui/colors.ts, after dstack's), as the page's tones: one table for both.
const FROM_CLI: Readonly<Record<string, Tone>> = { green: 'ok', blue: 'info', cyan: 'info', gold: 'warn', yellow: 'warn', red: 'bad' };

export function toneOf(status: string): Tone {
  return FROM_CLI[statusTone(status) ?? ''] ?? 'muted';
}

/** A date and time as the browser's locale writes it (`locale` undefined = the browser's own). */
export function formatTime(ms: number, locale?: string, timeZone?: string): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'medium', ...(timeZone ? { timeZone } : {}) }).format(ms);
}

/** A time of day only, for event lists and log lines. */
export function formatClock(ms: number, locale?: string, timeZone?: string): string {
  return new Intl.DateTimeFormat(locale, { timeStyle: 'medium', ...(timeZone ? { timeZone } : {}) }).format(ms);
}

export function formatRps(rps: number | undefined): string {
  if (rps === undefined) return '-';
  return rps >= 10 ? rps.toFixed(0) : rps.toFixed(rps === 0 ? 0 : 2);
}

/** The newest submission of each replica number, live ones only unless the run has ended (as `dstack ps` shows). */
export function currentReplicas(run: RunView): ReplicaView[] {
  const newest = new Map<number, ReplicaView>();
  for (const r of run.replicas) {
    const seen = newest.get(r.num);
    if (!seen || r.submission > seen.submission || (r.submission === seen.submission && r.deployment > seen.deployment)) newest.set(r.num, r);
  }
  const all = [...newest.values()].sort((a, b) => a.num - b.num);
  return isRunFinished(run) || run.status === 'terminating' ? all : all.filter((r) => !isFinal(r.status));
}

/** `ready/desired`, e.g. `1/2`. */
export function formatReplicas(run: RunView): string {
  const ready = currentReplicas(run).filter((r) => r.status === 'running' && r.ready).length;
  return `${ready}/${run.desiredReplicas}`;
}

/** A replica's status as a user reads it: a failing-after-ready replica is `unhealthy`. */
export function replicaStatus(r: ReplicaView): string {
  return r.unhealthy && r.status === 'running' ? 'unhealthy' : r.status;
}

/** One word per probe: `passed`, `failing`, or `n/m` successes towards ready. */
export function formatProbes(r: ReplicaView): string {
  if (r.probes.length === 0) return '-';
  return r.probes.map((p) => (p.successStreak >= p.readyAfter ? 'passed' : p.lastOk === false ? 'failing' : `${p.successStreak}/${p.readyAfter}`)).join(', ');
}

export const isRunActive = (run: RunView): boolean => !isRunFinished(run) && run.status !== 'terminating';
