/**
 * Which replica `dstack attach` gets, as dstack's Run._find_job picks it: the one numbered `--replica`, else the
 * lowest-numbered running replica, else the lowest-numbered one (its logs stay readable after the run ended). Of the
 * submissions of one number, the live one, else the latest.
 */
import type { JobStatus } from '../api.js';
import { isFinal } from '../reconcile/replica-status.js';

export interface ReplicaLike {
  num: number;
  submission: number;
  status: JobStatus;
}

export function latestSubmission<R extends ReplicaLike>(replicas: readonly R[], num: number): R | undefined {
  const same = replicas.filter((r) => r.num === num);
  return same.find((r) => !isFinal(r.status)) ?? [...same].sort((a, b) => b.submission - a.submission)[0];
}

export function pickAttachReplica<R extends ReplicaLike>(replicas: readonly R[], num?: number): R | undefined {
  if (num !== undefined) return latestSubmission(replicas, num);
  const running = replicas.filter((r) => r.status === 'running');
  const pool = running.length > 0 ? running : replicas;
  const lowest = Math.min(...pool.map((r) => r.num));
  return Number.isFinite(lowest) ? latestSubmission(pool, lowest) : undefined;
}
