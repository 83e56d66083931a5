import type { ContainerCreateOptions } from 'dockerode';
import type { ReplicaSpec } from '../../core/model/agent-api.js';
import { LABELS } from '../../core/model/agent-constants.js';
import { containerCommand, replicaEnv } from '../replicas/command.js';

/** NVIDIA capabilities dstack's shim requests, minus `display` (needs the modeset device most servers lack). */
const NVIDIA_CAPABILITIES = ['gpu', 'utility', 'compute', 'graphics', 'video', 'compat32'];

/** Labels written on every container, so the agent can adopt (and sweep) them after a restart. */
export function replicaLabels(spec: ReplicaSpec, agentId: string, createdAt: number): Record<string, string> {
  // Only non-secret fields go into the spec label: `docker inspect` shows labels to anyone on the host.
  const summary = { port: spec.port, stopTimeoutSeconds: spec.stopTimeoutSeconds, image: spec.image, createdAt };
  return {
    [LABELS.managed]: 'true',
    [LABELS.agent]: agentId,
    [LABELS.replicaId]: spec.id,
    [LABELS.run]: spec.runName,
    [LABELS.replicaNum]: String(spec.replicaNum),
    [LABELS.project]: spec.project,
    [LABELS.spec]: JSON.stringify(summary),
  };
}

/** Translates a replica spec into Docker's create call (dstack-notes §1.5, the shim's `creating` step). */
export function createOptions(spec: ReplicaSpec, agentId: string, createdAt: number): ContainerCreateOptions {
  const portKey = `${spec.port}/tcp`;
  const { entrypoint, cmd } = containerCommand(spec);
  const gpuEnv = spec.gpus?.vendor === 'intel' ? { HABANA_VISIBLE_DEVICES: spec.gpus.ids.join(',') } : {};
  const env = Object.entries({ ...gpuEnv, ...replicaEnv(spec) }).map(([k, v]) => `${k}=${v}`);
  return {
    name: spec.id,
    Image: spec.image,
    ...(entrypoint ? { Entrypoint: entrypoint } : {}),
    ...(cmd ? { Cmd: cmd } : {}),
    Env: env,
    ...(spec.workingDir ?? spec.repo?.dir ? { WorkingDir: spec.workingDir ?? spec.repo?.dir } : {}),
    ...(spec.user ? { User: spec.user } : {}),
    Labels: replicaLabels(spec, agentId, createdAt),
    ExposedPorts: { [portKey]: {} },
    HostConfig: {
      // The service is reachable only from this host (the daemon comes through an SSH tunnel); port 0 = ephemeral.
      PortBindings: { [portKey]: [{ HostIp: '127.0.0.1', HostPort: '' }] },
      // docker-init as PID 1 forwards SIGTERM to `sh -c …`, which as PID 1 itself would ignore it (graceful stop).
      Init: true,
      Privileged: spec.privileged,
      ...(spec.shmSizeBytes ? { ShmSize: spec.shmSizeBytes } : {}),
      ...(spec.cpuLimit ? { NanoCpus: Math.round(spec.cpuLimit * 1e9) } : {}),
      ...(spec.memoryLimitBytes ? { Memory: spec.memoryLimitBytes } : {}),
      Binds: spec.volumes.map((v) => `${v.hostPath}:${v.containerPath}${v.readOnly ? ':ro' : ''}`),
      ...gpuHostConfig(spec),
    },
  };
}

type HostConfig = NonNullable<ContainerCreateOptions['HostConfig']>;

/** GPU access per vendor, as dstack's shim grants it. */
export function gpuHostConfig(spec: Pick<ReplicaSpec, 'gpus'>): Partial<HostConfig> {
  const gpus = spec.gpus;
  if (!gpus) return {};
  const device = (path: string) => ({ PathOnHost: path, PathInContainer: path, CgroupPermissions: 'rwm' });
  switch (gpus.vendor) {
    case 'nvidia':
      return { DeviceRequests: [{ Driver: 'nvidia', DeviceIDs: gpus.ids, Capabilities: [NVIDIA_CAPABILITIES] }] };
    case 'amd':
      // ids are render nodes (/dev/dri/renderD128); ROCm also needs /dev/kfd, host IPC and ptrace.
      return {
        Devices: [device('/dev/kfd'), ...gpus.ids.map(device)],
        IpcMode: 'host',
        CapAdd: ['SYS_PTRACE'],
        SecurityOpt: ['seccomp=unconfined'],
      };
    case 'tenstorrent':
      return { Devices: gpus.ids.map((id) => device(`/dev/tenstorrent/${id}`)) };
    case 'intel':
      return { Runtime: 'habana', IpcMode: 'host', CapAdd: ['SYS_NICE'] };
    case 'google':
      return {};
  }
}
