/**
 * A runtime decorator that gives replicas their code archive: the working copy is made before the inner
 * runtime starts the replica and deleted once the replica is stopped and removed.
 */
import type { Readable } from 'node:stream';
import type { ReplicaSpec, ReplicaState } from '../../core/model/agent-api.js';
import type { ExitInfo, LogOptions, ReplicaRuntime } from '../replicas/runtime.js';
import type { Workspaces } from './workspace.js';

export class WorkspaceRuntime implements ReplicaRuntime {
  readonly kind: ReplicaRuntime['kind'];

  constructor(private readonly inner: ReplicaRuntime, private readonly workspaces: Workspaces) {
    this.kind = inner.kind;
  }

  async run(spec: ReplicaSpec, signal: AbortSignal): Promise<Partial<ReplicaState>> {
    return this.inner.run(await this.workspaces.prepare(spec, this.kind), signal);
  }

  async stop(id: string, timeoutSeconds: number): Promise<ExitInfo | undefined> {
    const info = await this.inner.stop(id, timeoutSeconds);
    await this.workspaces.remove(id);
    return info;
  }

  logs(id: string, options: LogOptions): Promise<Readable> {
    return this.inner.logs(id, options);
  }

  adopt(): Promise<ReplicaState[]> {
    return this.inner.adopt();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
