/**
 * Opens one attach connection: the replica's current submission of that number, where its port answers on its host
 * (core/attach/target.ts), and a stream there over the instance's agent connection — a channel of the fleet host's
 * one SSH connection, or a loopback socket on the local machine. Socket failures become typed errors here, by code.
 */
import type { Duplex } from 'node:stream';
import type { AgentConnection } from '../../backends/backend.js';
import { servicePortOf } from '../../core/attach/info.js';
import { latestSubmission } from '../../core/attach/replica.js';
import { attachTarget, needsAddress, type ReplicaEndpoint } from '../../core/attach/target.js';
import { DstackError, InternalError, UserError } from '../../core/errors.js';
import { isRunFinished } from '../../core/reconcile/index.js';
import type { RunRecord } from '../../core/state/schema.js';

export interface AttachDeps {
  /** The run of that name (RUN_NOT_FOUND otherwise). */
  findRun(name: string): RunRecord;
  /** The instance's agent connection, opened if needed. */
  connect(instance: string): Promise<AgentConnection>;
  /** Whether the instance's host is known to be unreachable right now. */
  unreachable(instance: string): boolean;
}

const REFUSED = new Set(['ECONNREFUSED', 'ECONNRESET']);
const UNREACHABLE = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ETIMEDOUT', 'SSH_UNREACHABLE', 'AGENT_UNREACHABLE']);

export async function openReplicaPort(deps: AttachDeps, name: string, num: number, port: number): Promise<Duplex> {
  const run = deps.findRun(name);
  if (isRunFinished(run)) throw new UserError('RUN_FINISHED', `Run ${name} is ${run.status}`, { status: 409 });
  const replica = latestSubmission(run.replicas, num);
  const what = `replica ${num} of ${name}`;
  if (!replica) throw new UserError('REPLICA_NOT_FOUND', `Run ${name} has no replica ${num}`, { status: 404 });
  if (replica.status !== 'running') {
    throw new UserError('REPLICA_NOT_RUNNING', `The ${what} is ${replica.status}`, { status: 409, hint: 'Connect again once it runs (`dstack ps`).' });
  }
  const instance = replica.instance ?? 'local';
  const unreachable = (cause?: unknown) =>
    new UserError('HOST_UNREACHABLE', `The host of the ${what} (${instance}) is unreachable`, {
      status: 503,
      hint: 'The daemon reconnects on its own; connect again later.',
      ...(cause === undefined ? {} : { cause }),
    });
  if (deps.unreachable(instance)) throw unreachable();
  const conn = await deps.connect(instance).catch((e: unknown) => {
    throw unreachable(e);
  });
  if (!conn.openTcp) throw new InternalError('NOT_SUPPORTED', `The backend of ${instance} cannot open connections to replica ports`, { status: 501 });
  const servicePort = servicePortOf(run, replica);
  let endpoint: ReplicaEndpoint = { ...(replica.runtime ? { runtime: replica.runtime } : {}), ...(replica.hostPort !== undefined ? { hostPort: replica.hostPort } : {}) };
  if (needsAddress(endpoint, servicePort, port)) {
    const state = await conn.client.getReplica(replica.id).catch((e: unknown) => {
      throw e instanceof DstackError && e.code !== 'AGENT_UNREACHABLE' ? e : unreachable(e);
    });
    endpoint = { runtime: state.runtime, ...(state.hostPort !== undefined ? { hostPort: state.hostPort } : {}), ...(state.address ? { address: state.address } : {}) };
  }
  const target = attachTarget(endpoint, servicePort, port, `the ${what}`);
  try {
    return await conn.openTcp(target.host, target.port);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && REFUSED.has(code)) {
      throw new UserError('PORT_NOT_LISTENING', `Nothing listens on port ${port} of the ${what}`, {
        status: 502,
        hint: 'Check that the service inside the replica listens on that port (on 0.0.0.0, not only its own 127.0.0.1).',
        cause: e,
      });
    }
    if (typeof code === 'string' && UNREACHABLE.has(code)) throw unreachable(e);
    throw new InternalError('ATTACH_FAILED', `Could not connect to port ${port} of the ${what}`, { status: 502, cause: e });
  }
}
