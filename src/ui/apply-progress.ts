/**
 * Apply progress without a terminal: one plain line per change of the run's or a replica's status, so logs of
 * CI jobs read as a history. The outcome rules (ready / failed) are shared with the Ink view.
 */
import type { ReplicaView, RunView } from '../core/api.js';
import { unhealthyText } from './replica-health.js';

export type Outcome = { kind: 'waiting' } | { kind: 'ready' } | { kind: 'failed'; reason: string };

const ENDED = new Set(['terminating', 'terminated', 'failed', 'done']);

/** Ready = the run is running and every desired replica is running and passed its probes. */
export function applyOutcome(run: RunView): Outcome {
  if (ENDED.has(run.status)) {
    return { kind: 'failed', reason: run.error ?? run.statusMessage ?? `run ${run.status}` };
  }
  const ready = run.replicas.filter((r) => r.status === 'running' && r.ready).length;
  // A service scaled to zero is "ready" once it waits for requests: the proxy starts a replica on the first one.
  if (run.status === 'running' && ready >= run.desiredReplicas) return { kind: 'ready' };
  return { kind: 'waiting' };
}

function replicaState(r: ReplicaView): string {
  const status = r.statusMessage && r.statusMessage !== r.status ? `${r.status} (${r.statusMessage})` : r.status;
  if (r.status === 'running' && r.unhealthy) return `${status}, ${unhealthyText(r)}`;
  if (r.status === 'running') return `${status}${r.ready ? ', ready' : ', waiting for probes'}`;
  // The record keeps why it was unhealthy: the line of its stop says what it was replaced for.
  return r.reason === 'unhealthy' && r.unhealthy ? `${status}, replaced: ${r.unhealthy.reason}` : status;
}

const key = (r: ReplicaView) => `${r.num}/${r.submission}`;

/** Lines describing what changed from `prev` to `next` (all of `next` when `prev` is undefined). */
export function progressLines(prev: RunView | undefined, next: RunView): string[] {
  const lines: string[] = [];
  const runState = (v: RunView) => (v.statusMessage && v.statusMessage !== v.status ? `${v.status} (${v.statusMessage})` : v.status);
  if (!prev || runState(prev) !== runState(next)) lines.push(`${next.name}: ${runState(next)}`);
  const before = new Map((prev?.replicas ?? []).map((r) => [key(r), replicaState(r)]));
  for (const r of next.replicas) {
    const state = replicaState(r);
    if (before.get(key(r)) === state) continue;
    const sub = r.submission > 0 ? ` submission=${r.submission}` : '';
    lines.push(`${next.name} replica=${r.num}${sub}: ${state}${r.error ? ` - ${r.error}` : ''}`);
  }
  return lines;
}

/** The closing lines on stdout (dstack §6.1 step 8). */
export function publishedLines(run: RunView): string[] {
  const lines = ['Service is published at:', `  ${run.url}`];
  if (run.model) lines.push(`Model ${run.model.name} is published at:`, `  ${run.model.url}`);
  return lines;
}
