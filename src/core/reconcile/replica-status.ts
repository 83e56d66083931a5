/**
 * Replica (job) statuses as dstack names them, derived from the agent's phases (dstack-notes §1.8):
 * agent pending → provisioning, pulling/creating → pulling, running → running, stopping → terminating;
 * an exit the daemon asked for → terminated (aborted for an abort), exit 0 → done, anything else → failed.
 */
import type { JobStatus } from '../api.js';
import type { ReplicaState } from '../model/agent-api.js';
import type { ReplicaRecord } from '../state/schema.js';
import { unlessSame } from './same.js';

const FINAL: ReadonlySet<JobStatus> = new Set(['terminated', 'aborted', 'failed', 'done']);

export const isFinal = (status: JobStatus): boolean => FINAL.has(status);
export const isActive = (r: ReplicaRecord): boolean => !FINAL.has(r.status);
/** Active and not being stopped: counts towards the desired replicas. */
export const isLive = (r: ReplicaRecord): boolean => isActive(r) && r.stop === undefined;

/** Folds the agent's view of a replica into its record: a new record, or `replica` itself when nothing changed. */
export function applyAgentState(replica: ReplicaRecord, state: ReplicaState, now: number): ReplicaRecord {
  if (isFinal(replica.status)) return replica;
  return unlessSame(replica, nextFromAgent(replica, state, now));
}

function nextFromAgent(replica: ReplicaRecord, state: ReplicaState, now: number): ReplicaRecord {
  const next: ReplicaRecord = { ...replica, agentPhase: state.phase, runtime: state.runtime };
  if (state.hostPort !== undefined) next.hostPort = state.hostPort;
  if (state.containerId !== undefined) next.containerId = state.containerId;
  switch (state.phase) {
    case 'pending':
      next.status = replica.stop ? 'terminating' : 'provisioning';
      break;
    case 'pulling':
    case 'creating':
      next.status = replica.stop ? 'terminating' : 'pulling';
      next.statusMessage = state.pull ? `pulling ${state.pull.layersDone}/${state.pull.layersTotal} layers` : undefined;
      break;
    case 'running':
      next.status = replica.stop ? 'terminating' : 'running';
      next.statusMessage = undefined;
      next.startedAt ??= state.startedAt ?? now;
      break;
    case 'stopping':
      next.status = 'terminating';
      break;
    case 'exited':
    case 'failed':
      return finish(next, state, now);
  }
  if (next.status !== 'running') next.ready = false;
  return next;
}

function finish(next: ReplicaRecord, state: ReplicaState, now: number): ReplicaRecord {
  next.ready = false;
  next.finishedAt = state.finishedAt ?? now;
  if (state.exitCode !== undefined) next.exitCode = state.exitCode;
  if (next.stop) {
    next.status = next.stop.abort ? 'aborted' : 'terminated';
    next.reason = next.stop.reason;
    next.statusMessage = next.stop.abort ? 'aborted' : 'stopped';
    return next;
  }
  if (state.phase === 'exited' && state.exitCode === 0) {
    next.status = 'done';
    next.reason = 'done_by_runner';
    next.statusMessage = 'exited (0)';
    return next;
  }
  next.status = 'failed';
  if (state.phase === 'exited') {
    next.reason = 'container_exited_with_error';
    next.statusMessage = `exited (${state.exitCode ?? '?'})`;
  } else {
    next.reason = state.reason ?? 'executor_error';
    next.statusMessage = 'error';
  }
  next.error = state.message ?? state.reason ?? next.statusMessage;
  return next;
}

/** The agent no longer knows the replica (removed, or lost while the daemon was away). */
export function applyAgentRemoved(replica: ReplicaRecord, now: number): ReplicaRecord {
  if (isFinal(replica.status)) return replica;
  if (replica.stop) {
    return { ...replica, status: replica.stop.abort ? 'aborted' : 'terminated', ready: false, finishedAt: now, reason: replica.stop.reason };
  }
  return { ...replica, status: 'failed', ready: false, finishedAt: now, reason: 'instance_unreachable', statusMessage: 'error', error: 'the agent no longer reports this replica' };
}

/** A start request the agent refused or could not take. */
export function applyStartFailure(replica: ReplicaRecord, code: string, message: string, now: number): ReplicaRecord {
  return unlessSame(replica, { ...replica, status: 'failed', ready: false, finishedAt: now, reason: code.toLowerCase(), statusMessage: 'error', error: message });
}
