/**
 * `GET /api/replicas/:id/metrics`: samples one replica when asked, so an idle agent spends nothing on metrics.
 * Docker replicas are read through the engine's stats, process replicas from /proc of their process group; the
 * GPUs assigned to either come from the host's SMI tool.
 */
import os from 'node:os';
import type Docker from 'dockerode';
import type { ReplicaMetrics, ReplicaState } from '../../core/model/agent-api.js';
import { AgentError } from '../errors.js';
import type { ReplicaRegistry } from '../replicas/registry.js';
import { cpuPercentBetween } from './cpu.js';
import { sampleContainer } from './docker-stats.js';
import { readGpuMetrics, type GpuMetricsOptions } from './gpu-metrics.js';
import { sampleProcessGroup } from './proc-stats.js';

export interface MetricsCollectorOptions {
  registry: Pick<ReplicaRegistry, 'get' | 'spec'>;
  /** The engine, on a host that runs Docker replicas. */
  docker?: Docker;
  gpu?: GpuMetricsOptions;
  /** Waits between the two CPU samples (default: one second, as `docker stats` waits). */
  wait?: () => Promise<void>;
  now?: () => number;
  procRoot?: string;
  /** The host's CPUs and memory: the allowance of a replica without limits. */
  host?: { cpus: number; memoryBytes: number };
}

const SAMPLE_INTERVAL_MS = 1_000;

export class MetricsCollector {
  constructor(private readonly o: MetricsCollectorOptions) {}

  async metrics(id: string): Promise<ReplicaMetrics> {
    const state = this.o.registry.get(id);
    if (!state) throw new AgentError('UNKNOWN_REPLICA', `replica ${id} is not known to this agent`, 404);
    if (state.phase !== 'running') throw new AgentError('REPLICA_NOT_RUNNING', `replica ${id} is ${state.phase}, not running`, 409);
    const spec = this.o.registry.spec(id);
    const host = this.o.host ?? { cpus: os.availableParallelism(), memoryBytes: os.totalmem() };
    const usage = state.runtime === 'docker' ? await this.container(state) : await this.processGroup(state);
    const gpus = spec?.gpus ?? usage.gpus;
    const reading = await readGpuMetrics(gpus, this.o.gpu);
    return {
      id,
      runtime: state.runtime,
      timestamp: (this.o.now ?? Date.now)(),
      cpu: { percent: usage.cpuPercent, cores: spec?.cpuLimit ?? usage.cpuLimit ?? usage.onlineCpus ?? host.cpus },
      memory: { usedBytes: usage.memoryUsedBytes, limitBytes: spec?.memoryLimitBytes ?? usage.memoryLimitBytes ?? host.memoryBytes },
      gpus: reading.gpus,
      ...(reading.error ? { gpuError: reading.error } : {}),
    };
  }

  private wait(): Promise<void> {
    return this.o.wait ? this.o.wait() : new Promise((resolve) => setTimeout(resolve, SAMPLE_INTERVAL_MS));
  }

  private container(state: ReplicaState) {
    if (!this.o.docker) throw new AgentError('DOCKER_UNAVAILABLE', 'this agent runs without a Docker engine', 503);
    return sampleContainer(this.o.docker, state.containerId ?? state.id, () => this.wait());
  }

  /** Two readings of the group a wait apart; the process runtime sets no limits, so the host is the allowance. */
  private async processGroup(state: ReplicaState) {
    const pgid = state.pid;
    if (pgid === undefined) throw new AgentError('REPLICA_NOT_RUNNING', `replica ${state.id} has no process`, 409);
    const first = await sampleProcessGroup(pgid, this.o.procRoot);
    await this.wait();
    const second = await sampleProcessGroup(pgid, this.o.procRoot);
    if (second.processes === 0) throw new AgentError('REPLICA_NOT_RUNNING', `replica ${state.id} has no live process`, 409);
    return {
      cpuPercent: cpuPercentBetween(first, second),
      memoryUsedBytes: second.rssBytes,
      cpuLimit: undefined,
      onlineCpus: undefined,
      memoryLimitBytes: undefined,
      gpus: undefined,
    };
  }
}
