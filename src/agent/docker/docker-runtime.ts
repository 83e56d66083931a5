import { mkdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { ReplicaSpec, ReplicaState } from '../../core/model/agent-api.js';
import { LABELS } from '../../core/model/agent-constants.js';
import { AgentError } from '../errors.js';
import type { ExitInfo, LogOptions, ReplicaRuntime, RuntimeHooks } from '../replicas/runtime.js';
import { adoptedState, containerAddress, exitInfo, hostPortOf } from './container-state.js';
import { createOptions } from './create-options.js';
import { isEngineUnreachable, mapDockerError } from './errors.js';
import { DockerLogDemuxer, demuxBuffer, lastLines } from './logs.js';
import { isLatestTag, pullImage } from './pull.js';
import type { ContainerEvent } from './watch.js';

export interface DockerRuntimeOptions {
  docker: Docker;
  agentId: string;
  hooks: RuntimeHooks;
  now: () => number;
  /** Minimum interval between two pull-progress reports (the pull stream sends hundreds of lines). */
  progressIntervalMs?: number;
}

const aborted = () => new AgentError('ABORTED', 'the replica was stopped before it started', 499);
const statusOf = (e: unknown) => (e as { statusCode?: number }).statusCode;

/** One container per replica, named by the replica id and marked with LABELS (DESIGN.md §2). */
export class DockerRuntime implements ReplicaRuntime {
  readonly kind = 'docker' as const;

  constructor(private readonly opts: DockerRuntimeOptions) {}

  private get docker(): Docker {
    return this.opts.docker;
  }

  async run(spec: ReplicaSpec, signal: AbortSignal): Promise<Partial<ReplicaState>> {
    const image = spec.image;
    if (!image) throw new AgentError('INVALID_SPEC', 'image: required by the Docker runtime', 400);
    await this.ensureImage(spec, image, signal);
    if (signal.aborted) throw aborted();
    this.opts.hooks.progress(spec.id, { phase: 'creating' });
    for (const v of spec.volumes) if (v.create) await mkdir(v.hostPath, { recursive: true });
    const createdAt = this.opts.now();
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer(createOptions(spec, this.opts.agentId, createdAt));
    } catch (e) {
      throw mapDockerError(e, 'create', image);
    }
    // From here on the container exists: every failure path removes it, so no orphan is left behind.
    const discard = () => container.remove({ force: true }).catch(() => undefined);
    if (signal.aborted) {
      await discard();
      throw aborted();
    }
    try {
      await container.start();
    } catch (e) {
      await discard();
      throw mapDockerError(e, 'start', image);
    }
    const info = await container.inspect().catch((e: unknown) => {
      throw mapDockerError(e, 'other');
    });
    const startedAt = Date.parse(info.State.StartedAt);
    const address = containerAddress(info);
    return {
      phase: 'running',
      containerId: info.Id,
      hostPort: hostPortOf(info, spec.port),
      ...(address ? { address } : {}),
      startedAt: Number.isNaN(startedAt) ? this.opts.now() : startedAt,
    };
  }

  /** `if-not-present` skips the pull for a local image unless it is `:latest`; a failed re-pull of a local image falls back to it. */
  private async ensureImage(spec: ReplicaSpec, image: string, signal: AbortSignal): Promise<void> {
    const local = await this.docker
      .getImage(image)
      .inspect()
      .then(() => true)
      .catch((e: unknown) => {
        if (statusOf(e) === 404) return false;
        throw mapDockerError(e, 'inspect-image', image);
      });
    if (local && spec.pullPolicy === 'if-not-present' && !isLatestTag(image)) return;
    this.opts.hooks.progress(spec.id, { phase: 'pulling' });
    const interval = this.opts.progressIntervalMs ?? 250;
    let lastReport = 0;
    try {
      await pullImage(this.docker, image, {
        auth: spec.registryAuth,
        signal,
        onProgress: (pull) => {
          const now = this.opts.now();
          if (now - lastReport < interval && pull.layersDone < pull.layersTotal) return;
          lastReport = now;
          this.opts.hooks.progress(spec.id, { pull });
        },
      });
    } catch (e) {
      if (signal.aborted) throw aborted();
      const code = (e as AgentError).code;
      if (!local || spec.pullPolicy === 'always' || code === 'DOCKER_UNAVAILABLE') throw e;
      // A local `:latest` image with no registry answering: run what is here (the registry may be offline).
    }
  }

  async stop(id: string, timeoutSeconds: number): Promise<ExitInfo | undefined> {
    const container = this.docker.getContainer(id);
    try {
      await container.stop({ t: timeoutSeconds });
    } catch (e) {
      // 304: already stopped; 404: already gone. Both mean the stop is done (stop is idempotent).
      const status = statusOf(e);
      if (status === 404) return undefined;
      if (status !== 304) throw mapDockerError(e, 'other');
    }
    const info = await container.inspect().catch(() => undefined);
    const tail = await this.tail(id, 5);
    await container.remove({ force: true }).catch((e: unknown) => {
      if (statusOf(e) !== 404 && isEngineUnreachable(e)) throw mapDockerError(e, 'other');
    });
    return info ? exitInfo(info, tail) : undefined;
  }

  async logs(id: string, options: LogOptions): Promise<Readable> {
    const container = this.docker.getContainer(id);
    const base = { stdout: true, stderr: true, ...(options.since !== undefined ? { since: options.since } : {}) };
    try {
      if (!options.follow) {
        const buf = (await container.logs({ ...base, follow: false })) as unknown as Buffer;
        return Readable.from([demuxBuffer(buf)]);
      }
      const raw = (await container.logs({ ...base, follow: true, abortSignal: options.signal })) as unknown as Readable;
      const demuxed = new DockerLogDemuxer();
      raw.on('error', (e) => demuxed.destroy(e));
      options.signal.addEventListener('abort', () => raw.destroy(), { once: true });
      return raw.pipe(demuxed);
    } catch (e) {
      if (statusOf(e) === 404) throw new AgentError('LOGS_UNAVAILABLE', `replica ${id} has no container (it was removed)`, 404);
      throw mapDockerError(e, 'other');
    }
  }

  async adopt(): Promise<ReplicaState[]> {
    const filters = { label: [`${LABELS.managed}=true`, `${LABELS.agent}=${this.opts.agentId}`] };
    let list: Docker.ContainerInfo[];
    try {
      list = await this.docker.listContainers({ all: true, filters });
    } catch (e) {
      throw mapDockerError(e, 'other');
    }
    const states: ReplicaState[] = [];
    for (const item of list) {
      const container = this.docker.getContainer(item.Id);
      const info = await container.inspect().catch(() => undefined);
      if (!info) continue;
      // Created but never started: the agent died between create and start. Nobody else will clean it up.
      if (info.State.Status === 'created') {
        await container.remove({ force: true }).catch(() => undefined);
        continue;
      }
      const tail = info.State.Running ? [] : await this.tail(info.Id, 5);
      const state = adoptedState(info, tail);
      if (state) states.push(state);
    }
    return states;
  }

  /** Handles one event from the watch: a container of this agent died, was OOM-killed or removed. */
  async onEvent(event: ContainerEvent): Promise<void> {
    const id = event.Actor.Attributes[LABELS.replicaId];
    if (!id) return;
    if (event.Action === 'destroy') return this.opts.hooks.exited(id, { lastLines: [], vanished: true });
    if (event.Action !== 'die') return;
    const info = await this.docker.getContainer(event.Actor.ID).inspect().catch(() => undefined);
    const tail = await this.tail(event.Actor.ID, 5);
    const fallback = Number(event.Actor.Attributes.exitCode);
    this.opts.hooks.exited(id, info ? exitInfo(info, tail) : { lastLines: tail, ...(Number.isNaN(fallback) ? {} : { exitCode: fallback }) });
  }

  private async tail(id: string, n: number): Promise<string[]> {
    try {
      const buf = (await this.docker.getContainer(id).logs({ stdout: true, stderr: true, follow: false, tail: n })) as unknown as Buffer;
      return lastLines(demuxBuffer(buf), n);
    } catch {
      return [];
    }
  }

  async close(): Promise<void> {}
}
