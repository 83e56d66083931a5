/**
 * A container's CPU, memory and assigned GPUs from the Docker Engine: one `stats?stream=false` call (the engine
 * samples twice, about a second apart, and returns both) and one inspect for its limits and devices.
 */
import type Docker from 'dockerode';
import type { ReplicaSpec } from '../../core/model/agent-api.js';
import { AgentError } from '../errors.js';
import { mapDockerError } from '../docker/errors.js';
import { dockerCpuPercent, dockerMemoryUsed, hasPreviousSample, type DockerStats } from './cpu.js';

export interface ContainerSample {
  cpuPercent: number;
  /** The engine's online CPUs for the container (the host's). */
  onlineCpus: number | undefined;
  /** `--cpus` as NanoCpus / 1e9; undefined = no CPU limit. */
  cpuLimit: number | undefined;
  memoryUsedBytes: number;
  /** The cgroup's limit: the host's memory when the container has none. */
  memoryLimitBytes: number | undefined;
  gpus: ReplicaSpec['gpus'];
}

/** The inspect fields read here (dockerode's typing of HostConfig lacks some of them). */
interface HostConfig {
  DeviceRequests?: Array<{ Driver?: string; DeviceIDs?: string[] | null }> | null;
  Devices?: Array<{ PathOnHost: string }> | null;
  NanoCpus?: number;
}

/** The GPUs a container was created with (create-options.ts `gpuHostConfig`), for replicas adopted without their spec. */
export function assignedGpus(host: HostConfig | undefined): ReplicaSpec['gpus'] {
  const nvidia = (host?.DeviceRequests ?? []).flatMap((r) => (r.Driver === 'nvidia' ? (r.DeviceIDs ?? []) : []));
  if (nvidia.length > 0) return { vendor: 'nvidia', ids: nvidia };
  const amd = (host?.Devices ?? []).map((d) => d.PathOnHost).filter((p) => /^\/dev\/dri\/renderD\d+$/.test(p));
  if (amd.length > 0) return { vendor: 'amd', ids: amd };
  return undefined;
}

const notRunning = (id: string) => new AgentError('REPLICA_NOT_RUNNING', `replica ${id} has no running container`, 409);

export async function sampleContainer(docker: Docker, containerId: string, wait: () => Promise<void>): Promise<ContainerSample> {
  const container = docker.getContainer(containerId);
  const read = () => container.stats({ stream: false }) as Promise<DockerStats>;
  try {
    const [first, info] = await Promise.all([read(), container.inspect()]);
    if (!info.State.Running) throw notRunning(containerId);
    let stats = first;
    let previous = first.precpu_stats;
    // An engine that answers without an earlier sample (one-shot mode) gets a second call: the delta is ours then.
    if (!hasPreviousSample(first)) {
      await wait();
      stats = await read();
      previous = first.cpu_stats;
    }
    const host = info.HostConfig as unknown as HostConfig;
    return {
      cpuPercent: dockerCpuPercent(stats.cpu_stats, previous),
      onlineCpus: stats.cpu_stats?.online_cpus || stats.cpu_stats?.cpu_usage?.percpu_usage?.length || undefined,
      cpuLimit: host.NanoCpus ? host.NanoCpus / 1e9 : undefined,
      memoryUsedBytes: dockerMemoryUsed(stats.memory_stats),
      memoryLimitBytes: stats.memory_stats?.limit || undefined,
      gpus: assignedGpus(host),
    };
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) throw notRunning(containerId);
    throw mapDockerError(e, 'other');
  }
}
