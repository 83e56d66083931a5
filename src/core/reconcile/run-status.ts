/**
 * Run status from its replicas, with dstack's priorities (dstack-notes §1.8): ending → terminating; any running →
 * running; any provisioning/pulling → provisioning; any submitted → submitted; nothing active → pending (scaled to
 * zero, or waiting for a retry). A service never becomes `done` by itself: replicas that exit are replaced.
 */
import type { RunStatus } from '../api.js';
import type { RunRecord } from '../state/schema.js';
import { isActive } from './replica-status.js';

export function terminationStatus(reason: string | undefined): RunStatus {
  switch (reason) {
    case 'all_jobs_done':
      return 'done';
    case 'job_failed':
    case 'retry_limit_exceeded':
    case 'server_error':
      return 'failed';
    default:
      return 'terminated';
  }
}

export function computeRunStatus(run: RunRecord, _now: number): { status: RunStatus; statusMessage?: string; finishedAt?: number } {
  if (run.terminationReason) {
    return { status: 'terminating', statusMessage: run.statusMessage ?? messageFor(run.terminationReason) };
  }
  const active = run.replicas.filter(isActive);
  if (active.some((r) => r.status === 'running')) return { status: 'running', statusMessage: 'running' };
  if (active.some((r) => r.status === 'provisioning' || r.status === 'pulling')) {
    const pulling = active.every((r) => r.status === 'pulling');
    return { status: 'provisioning', statusMessage: pulling ? 'pulling' : 'provisioning' };
  }
  if (active.some((r) => r.status === 'submitted')) return { status: 'submitted', statusMessage: 'submitted' };
  if (run.desiredReplicas === 0) return { status: 'pending', statusMessage: 'waiting for requests' };
  return { status: 'pending', statusMessage: 'retrying' };
}

function messageFor(reason: string): string {
  switch (reason) {
    case 'stopped_by_user':
      return 'stopped';
    case 'aborted_by_user':
      return 'aborted';
    case 'max_duration_exceeded':
      return 'max duration exceeded';
    case 'all_jobs_done':
      return 'exited (0)';
    default:
      return 'error';
  }
}

/** A run in a final status: nothing of it runs or will run again. */
export const isRunFinished = (run: Pick<RunRecord, 'status'>): boolean =>
  run.status === 'terminated' || run.status === 'failed' || run.status === 'done';

/** Finished, or ending (a termination reason is set): a run no longer taking changes or desired counts. */
export const isRunEnding = (run: Pick<RunRecord, 'status' | 'terminationReason'>): boolean =>
  isRunFinished(run) || run.terminationReason !== undefined;
