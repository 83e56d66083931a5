/**
 * What `GET /api/runs/:name/attach` answers: the run's state, its service port and the replica an attach gets.
 * The service port is the replica group's own where groups differ (each group has its spec template).
 */
import type { AttachInfo } from './api.js';
import type { ReplicaRecord, RunRecord } from '../state/schema.js';
import { UserError } from '../errors.js';
import { pickAttachReplica } from './replica.js';

export function servicePortOf(run: RunRecord, replica?: Pick<ReplicaRecord, 'group'>): number {
  const group = replica?.group;
  return (group !== undefined ? run.specTemplates?.[group]?.port : undefined) ?? run.specTemplate.port;
}

/** `num` undefined: dstack's default (the first running replica). A number the run never had is an error naming the ones it has. */
export function attachInfoOf(run: RunRecord, num?: number): AttachInfo {
  const replica = pickAttachReplica(run.replicas, num);
  if (num !== undefined && !replica) {
    const nums = [...new Set(run.replicas.map((r) => r.num))].sort((a, b) => a - b);
    throw new UserError('REPLICA_NOT_FOUND', `Run ${run.name} has no replica ${num}`, {
      status: 404,
      hint: nums.length > 0 ? `Its replicas: ${nums.join(', ')}. Pass one of them with --replica.` : 'It has no replicas yet.',
    });
  }
  return {
    run: run.name,
    runStatus: run.status,
    servicePort: servicePortOf(run, replica),
    ...(replica
      ? {
          replica: {
            num: replica.num,
            submission: replica.submission,
            status: replica.status,
            ...(replica.instance !== undefined ? { instance: replica.instance } : {}),
            ...(replica.backend !== undefined ? { backend: replica.backend } : {}),
          },
        }
      : {}),
  };
}
