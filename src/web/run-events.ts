/**
 * The Run page's event list. The daemon streams whole run views (GET /api/runs/:name/events), not a log of
 * changes, so the events are what changed between two views: status moves, replicas coming, going and turning
 * ready, the desired count. The first view contributes what it already tells (submission and end times).
 */
import type { ReplicaView, RunView } from '../core/api.js';
import { toneOf, type Tone } from './format.js';

export interface RunEvent {
  at: number;
  text: string;
  tone: Tone;
}

const keyOf = (r: ReplicaView) => `${r.num}/${r.submission}/${r.deployment}`;
const label = (r: ReplicaView) => `replica ${r.num}${r.submission > 0 ? ` (submission ${r.submission})` : ''}`;

/** What the first view already tells, oldest first. */
export function initialEvents(run: RunView): RunEvent[] {
  const events: RunEvent[] = [{ at: run.submittedAt, text: 'run submitted', tone: 'muted' }];
  for (const r of run.replicas) {
    events.push({ at: r.submittedAt, text: `${label(r)} submitted`, tone: 'muted' });
    if (r.finishedAt !== undefined) events.push({ at: r.finishedAt, text: `${label(r)} ${r.status}${r.reason ? ` (${r.reason})` : ''}`, tone: toneOf(r.status) });
  }
  if (run.finishedAt !== undefined) events.push({ at: run.finishedAt, text: `run ${run.status}`, tone: toneOf(run.status) });
  return events.sort((a, b) => a.at - b.at);
}

/** The changes from `prev` to `next`, stamped `at` (when the view arrived). */
export function changedEvents(prev: RunView, next: RunView, at: number): RunEvent[] {
  const events: RunEvent[] = [];
  if (prev.status !== next.status) events.push({ at, text: `run ${prev.status} → ${next.status}`, tone: toneOf(next.status) });
  if (prev.desiredReplicas !== next.desiredReplicas) {
    events.push({ at, text: `desired replicas ${prev.desiredReplicas} → ${next.desiredReplicas}`, tone: 'muted' });
  }
  const before = new Map(prev.replicas.map((r) => [keyOf(r), r]));
  for (const r of next.replicas) {
    const old = before.get(keyOf(r));
    if (!old) {
      events.push({ at, text: `${label(r)} ${r.status}`, tone: toneOf(r.status) });
      continue;
    }
    if (old.status !== r.status) {
      const why = r.statusMessage && r.statusMessage !== r.status ? `: ${r.statusMessage}` : '';
      events.push({ at, text: `${label(r)} ${old.status} → ${r.status}${why}`, tone: toneOf(r.status) });
    }
    if (old.ready !== r.ready) events.push({ at, text: `${label(r)} ${r.ready ? 'ready' : 'not ready'}`, tone: r.ready ? 'ok' : 'warn' });
    if (!old.unhealthy && r.unhealthy) events.push({ at, text: `${label(r)} unhealthy: ${r.unhealthy.reason}`, tone: 'bad' });
  }
  return events;
}
