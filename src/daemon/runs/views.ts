/**
 * State records → the control API's views (src/core/api.ts). Stored configs leave the daemon only here, with their
 * secrets masked (redact.ts).
 */
import type { FleetNodesView, FleetView, GroupView, InstanceView, ReplicaView, Resources, RunView } from '../../core/api.js';
import { isActive, routable } from '../../core/reconcile/index.js';
import type { FleetRecord, InstanceRecord, ReplicaRecord, RunRecord } from '../../core/state/schema.js';
import { groupOf, groupStates } from '../../core/runs/index.js';
import { groupPolicy, policyOf } from '../../core/autoscaler/index.js';
import { busyBlocks } from '../fleets/fleets-state.js';
import { maskSecrets } from './redact.js';

export interface ViewContext {
  /** `http://127.0.0.1:3000` */
  baseUrl: string;
  /** Requests per second over `windowSeconds` (the run's scaling window; 60 s without `scaling`). */
  rps?: (project: string, run: string, windowSeconds?: number) => number | undefined;
  /** Fleet instances, for the resources a replica holds there (`dstack ps -v`). */
  instances?: () => readonly InstanceRecord[];
}

export function serviceUrl(base: string, project: string, run: string): string {
  return `${base}/proxy/services/${project}/${run}/`;
}

export function modelsUrl(base: string, project: string): string {
  return `${base}/proxy/models/${project}/v1/`;
}

export function toRunView(run: RunRecord, ctx: ViewContext): RunView {
  const routed = new Set(routable(run.replicas).map((r) => r.id));
  const view: RunView = {
    name: run.name,
    project: run.project,
    user: run.user,
    type: 'service',
    status: run.status,
    submittedAt: run.submittedAt,
    deployment: run.deployment,
    desiredReplicas: run.desiredReplicas,
    replicas: visibleReplicas(run).map((r) => toReplicaView(r, run, ctx.instances?.(), routed)),
    url: serviceUrl(ctx.baseUrl, run.project, run.name),
    auth: run.settings.auth,
    config: maskSecrets(run.configRaw),
  };
  if (run.statusMessage !== undefined) view.statusMessage = run.statusMessage;
  if (run.error !== undefined) view.error = run.error;
  if (run.finishedAt !== undefined) view.finishedAt = run.finishedAt;
  const model = run.settings.model;
  if (model) view.model = { name: model.name, url: modelsUrl(ctx.baseUrl, run.project), format: model.format };
  const rps = ctx.rps?.(run.project, run.name, policyOf(run)?.windowSeconds ?? 60);
  if (rps !== undefined) view.rps = rps;
  if (run.settings.groups) view.groups = groupViews(run, ctx);
  return view;
}

/** Per replica group: running replicas, desired count, and the service's rps over the group's window. */
function groupViews(run: RunRecord, ctx: ViewContext): GroupView[] {
  return groupStates(run).map((g) => {
    const view: GroupView = {
      name: g.name,
      running: run.replicas.filter((r) => groupOf(r) === g.name && r.status === 'running').length,
      desired: g.desired,
      min: g.replicas.min,
      max: g.replicas.max,
    };
    const rps = ctx.rps?.(run.project, run.name, groupPolicy(g)?.windowSeconds ?? 60);
    if (rps !== undefined) view.rps = rps;
    return view;
  });
}

/** Active replicas, plus the latest finished submission of each replica number with none active. */
function visibleReplicas(run: RunRecord): ReplicaRecord[] {
  const active = run.replicas.filter(isActive);
  const covered = new Set(active.map((r) => r.num));
  const latest = new Map<number, ReplicaRecord>();
  for (const r of run.replicas) {
    if (isActive(r) || covered.has(r.num)) continue;
    const seen = latest.get(r.num);
    if (!seen || seen.submission < r.submission) latest.set(r.num, r);
  }
  return [...active, ...latest.values()].sort((a, b) => a.num - b.num || a.submission - b.submission);
}

/**
 * What a replica holds on its fleet instance: its blocks' share of the host's CPUs, memory and disk, and exactly its
 * GPUs (as dstack's `ps -v` shows the job's resources). Unknown for the local machine and before placement.
 */
export function replicaResources(r: Pick<ReplicaRecord, 'instance' | 'blocks' | 'gpuIds'>, instances: readonly InstanceRecord[]): Resources | undefined {
  const instance = r.instance !== undefined ? instances.find((i) => i.name === r.instance) : undefined;
  const host = instance?.host;
  if (!host) return undefined;
  const share = Math.min(1, (r.blocks ?? instance.blocks ?? 1) / (instance.blocks ?? 1));
  const ids = r.gpuIds;
  const gpus = ids ? host.gpus.filter((g) => ids.includes(g.id)) : share === 1 ? host.gpus : [];
  return {
    cpus: Math.max(1, Math.floor(host.cpus * share)),
    memoryBytes: Math.floor(host.memoryBytes * share),
    diskBytes: Math.floor(host.diskTotalBytes * share),
    gpus: gpus.map((g) => ({ name: g.name, memoryMiB: g.memoryMiB, vendor: g.vendor })),
    arch: host.arch,
  };
}

function toReplicaView(r: ReplicaRecord, run: RunRecord, instances: readonly InstanceRecord[] = [], routed: ReadonlySet<string> = new Set()): ReplicaView {
  const view: ReplicaView = {
    num: r.num,
    submission: r.submission,
    deployment: r.deployment,
    status: r.status,
    ready: r.ready,
    probes: r.probes.map((p, i) => ({ successStreak: p.successStreak, readyAfter: run.settings.probes[i]?.readyAfter ?? 1, ...(p.lastOk !== undefined ? { lastOk: p.lastOk } : {}) })),
    submittedAt: r.submittedAt,
  };
  if (r.backend !== undefined) view.backend = r.backend;
  if (r.instance !== undefined) view.instance = r.instance;
  const resources = replicaResources(r, instances);
  if (resources) view.resources = resources;
  if (r.statusMessage !== undefined) view.statusMessage = r.statusMessage;
  if (r.error !== undefined) view.error = r.error;
  if (r.exitCode !== undefined) view.exitCode = r.exitCode;
  if (r.finishedAt !== undefined) view.finishedAt = r.finishedAt;
  if (r.group !== undefined) view.group = r.group;
  if (r.reason !== undefined) view.reason = r.reason;
  if (r.unhealthy) {
    const { since, reason, replacing } = r.unhealthy;
    view.unhealthy = { since, reason, routed: routed.has(r.id), replacing: replacing === true };
  }
  const cloud = r.instance !== undefined ? instances.find((i) => i.name === r.instance) : undefined;
  if (cloud?.cloud) {
    const { instanceType, region, spot, price } = cloud.cloud;
    view.cloud = { backend: cloud.backend, instanceType, region, spot, price };
  }
  const before = run.replicas.find((x) => x.num === r.num && x.group === r.group && x.submission === r.submission - 1);
  if (before?.error && INSTANCE_LOST.has(before.reason ?? '')) view.replacedBecause = before.error;
  return view;
}

/** Failures of a replica's instance rather than of the replica: the next submission says why it was replaced. */
const INSTANCE_LOST = new Set(['instance_terminated', 'instance_unreachable']);

/** A fleet with its instances; `busy` = an idle host that holds live replicas (dstack shows it so). */
export function toFleetView(fleet: FleetRecord, instances: readonly InstanceRecord[], runs: readonly RunRecord[], nodes?: FleetNodesView): FleetView {
  return {
    name: fleet.name,
    project: fleet.project,
    status: fleet.status,
    instances: instances.map((i) => toInstanceView(i, runs)),
    createdAt: fleet.createdAt,
    config: maskSecrets(fleet.configRaw),
    ...(nodes ? { nodes } : {}),
  };
}

/** `user@host:port` of an SSH host or of a cloud VM once it has an address; else the instance name. */
function hostOf(i: InstanceRecord): string {
  if (i.target) return `${i.target.user}@${i.target.hostname}:${i.target.port}`;
  if (i.cloud?.hostname) return `${i.cloud.user}@${i.cloud.hostname}:${i.cloud.sshPort}`;
  return i.name;
}

function toInstanceView(i: InstanceRecord, runs: readonly RunRecord[]): InstanceView {
  const busy = busyBlocks(runs, i);
  const view: InstanceView = {
    name: i.name,
    fleet: i.fleet ?? '',
    host: hostOf(i),
    status: i.status === 'idle' && busy > 0 ? 'busy' : i.status,
    unreachable: i.unreachable,
    backend: i.backend,
    createdAt: i.createdAt,
  };
  if (i.host) {
    view.resources = {
      cpus: i.host.cpus,
      memoryBytes: i.host.memoryBytes,
      diskBytes: i.host.diskTotalBytes,
      gpus: i.host.gpus.map((g) => ({ name: g.name, memoryMiB: g.memoryMiB, vendor: g.vendor })),
      arch: i.host.arch,
    };
  }
  if (i.progress !== undefined) view.progress = i.progress;
  if (i.blocks !== undefined) {
    view.blocks = i.blocks;
    view.busyBlocks = busy;
  }
  if (i.error !== undefined) view.error = i.error;
  if (i.cloud) {
    const { instanceId, instanceType, region, zone, spot, price } = i.cloud;
    view.cloud = { instanceId, instanceType, region, ...(zone !== undefined ? { zone } : {}), spot, price };
  }
  if (i.terminationReason !== undefined) view.terminationReason = i.terminationReason;
  if (i.idleSince !== undefined) view.idleSince = i.idleSince;
  return view;
}
