import type Docker from 'dockerode';
import type { ReplicaState } from '../../core/model/agent-api.js';
import { LABELS } from '../../core/model/agent-constants.js';
import { exitedPatch } from '../replicas/exit.js';
import type { ExitInfo } from '../replicas/runtime.js';

type Inspect = Docker.ContainerInspectInfo;

/** The host port Docker picked for the service port (published on 127.0.0.1 only). */
export function hostPortOf(info: Inspect, port: number): number | undefined {
  const bindings = info.NetworkSettings?.Ports?.[`${port}/tcp`];
  const hostPort = Number(bindings?.[0]?.HostPort);
  return Number.isInteger(hostPort) && hostPort > 0 ? hostPort : undefined;
}

/**
 * The container's address on its Docker network (a bridge only the host reaches). Ports are not published beyond
 * the service port, so this is how `dstack attach` reaches the others without exposing anything off the host.
 */
export function containerAddress(info: Inspect): string | undefined {
  const settings = info.NetworkSettings;
  if (settings?.IPAddress) return settings.IPAddress;
  return Object.values(settings?.Networks ?? {}).find((n) => n?.IPAddress)?.IPAddress || undefined;
}

const parseTime = (s: string | undefined): number | undefined => {
  const t = s ? Date.parse(s) : NaN;
  return Number.isNaN(t) || t <= 0 ? undefined : t;
};

export function exitInfo(info: Inspect, lastLines: string[]): ExitInfo {
  const finishedAt = parseTime(info.State.FinishedAt);
  return {
    exitCode: info.State.ExitCode,
    oomKilled: info.State.OOMKilled,
    lastLines,
    ...(finishedAt !== undefined ? { finishedAt } : {}),
  };
}

interface SpecLabel {
  port?: number;
  createdAt?: number;
}

/** Rebuilds a replica's state from a container carrying this agent's labels (adoption after a restart). */
export function adoptedState(info: Inspect, lastLines: string[]): ReplicaState | undefined {
  const labels = info.Config.Labels ?? {};
  const id = labels[LABELS.replicaId];
  if (!id) return undefined;
  let summary: SpecLabel = {};
  try {
    summary = JSON.parse(labels[LABELS.spec] ?? '{}') as SpecLabel;
  } catch {
    // An unreadable spec label only loses the port; the replica is still reported.
  }
  const base = {
    id,
    runName: labels[LABELS.run] ?? id,
    replicaNum: Number(labels[LABELS.replicaNum] ?? 0),
    project: labels[LABELS.project] ?? 'main',
    runtime: 'docker' as const,
    containerId: info.Id,
    createdAt: summary.createdAt ?? parseTime(info.Created) ?? 0,
    ...(parseTime(info.State.StartedAt) !== undefined ? { startedAt: parseTime(info.State.StartedAt) } : {}),
  };
  if (info.State.Running) {
    const hostPort = summary.port ? hostPortOf(info, summary.port) : undefined;
    const address = containerAddress(info);
    return { ...base, phase: 'running', ...(hostPort ? { hostPort } : {}), ...(address ? { address } : {}) };
  }
  return { ...base, ...exitedPatch(exitInfo(info, lastLines)) };
}

