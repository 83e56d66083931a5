/**
 * The daemon's state file (`server/state.json`, DESIGN.md §3): versioned, validated on read, written only by the
 * daemon. Runs keep everything the reconciler needs to act without re-parsing the YAML (settings + replica spec
 * template), so a schema change in the config language never stops a daemon from reloading its runs.
 */
import { z } from 'zod';
import { JobStatus, RunStatus, InstanceStatus, RepoInfo } from '../api.js';
import { HostInfo, ReplicaSpec } from '../model/agent-api.js';
import { Json } from '../model/json.js';
import type { ServiceConfig } from '../model/service.js';
import { GlobalRole, ProjectMember } from '../auth/roles.js';

export { GlobalRole, ProjectMember, ProjectRole } from '../auth/roles.js';

export const STATE_VERSION = 1;

export const ProbeSettings = z.object({
  url: z.string(),
  method: z.string(),
  headers: z.array(z.object({ name: z.string(), value: z.string() })),
  body: z.string().optional(),
  timeoutSeconds: z.number(),
  intervalSeconds: z.number(),
  readyAfter: z.number().int(),
  untilReady: z.boolean(),
  /** Consecutive failures that make a ready replica unhealthy (liveness.ts); absent in older state = the default. */
  failureThreshold: z.number().int().positive().optional(),
});
export type ProbeSettings = z.infer<typeof ProbeSettings>;

export const ModelSettings = z.object({
  name: z.string(),
  format: z.enum(['openai', 'tgi']),
  prefix: z.string(),
  chatTemplate: z.string().optional(),
  eosToken: z.string().optional(),
  bosToken: z.string().optional(),
});
export type ModelSettings = z.infer<typeof ModelSettings>;

/** One `rate_limits` rule as the proxy applies it (the config's normalized shape; the one declaration of it). */
export const RateLimitSettings = z.object({
  prefix: z.string(),
  key: z.union([z.object({ type: z.literal('ip_address') }), z.object({ type: z.literal('header'), header: z.string() })]),
  rps: z.number(),
  burst: z.number(),
});
export type RateLimitRule = z.infer<typeof RateLimitSettings>;

/** A normalized `scaling` block (config language: durations in seconds, defaults filled in). */
export const ScalingSettings = z.object({
  metric: z.literal('rps'),
  target: z.number().positive(),
  window: z.number().positive(),
  scale_up_delay: z.number().nonnegative(),
  scale_down_delay: z.number().nonnegative(),
});
export type ScalingSettings = z.infer<typeof ScalingSettings>;

/**
 * The normalized service configuration as applied. It is checked by the config language when applied and stored as
 * is; on load only its kind is checked, so a later change of the config language never stops a daemon from
 * reloading the runs it already has (their settings and spec templates carry what the loop acts on).
 */
export const StoredServiceConfig = z.custom<ServiceConfig>(
  (v) => typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'service',
  { message: 'expected a normalized `type: service` configuration' },
);

/** One replica group (`groups:`): its own range and scaling; its spec template is in `RunRecord.specTemplates`. */
export const GroupSettings = z.object({
  name: z.string(),
  replicas: z.object({ min: z.number().int().nonnegative(), max: z.number().int().nonnegative() }),
  autoscaling: z.boolean(),
  scaling: ScalingSettings.optional(),
});
export type GroupSettings = z.infer<typeof GroupSettings>;

/** What the reconciler, prober and router need from a service config, in plain numbers. */
export const RunSettings = z.object({
  replicas: z.object({ min: z.number().int().nonnegative(), max: z.number().int().nonnegative() }),
  /** True when `scaling` is set: the autoscaler owns desiredReplicas within [min, max]. */
  autoscaling: z.boolean(),
  scaling: ScalingSettings.optional(),
  probes: z.array(ProbeSettings),
  /** No probes configured: a TCP connect on the port gates readiness instead (see prober.ts). */
  tcpCheck: z.boolean(),
  stopDurationSeconds: z.number().nonnegative(),
  maxDurationSeconds: z.number().positive().optional(),
  retry: z.object({ onEvents: z.array(z.string()), durationSeconds: z.number() }).optional(),
  creationPolicy: z.enum(['reuse', 'reuse-or-create']),
  auth: z.boolean(),
  stripPrefix: z.boolean(),
  model: ModelSettings.optional(),
  rateLimits: z.array(RateLimitSettings),
  /** Explicit replica groups; absent = one implicit group "0" made of `replicas` and `scaling` above. */
  groups: z.array(GroupSettings).optional(),
  /** `stream_idle_timeout` in seconds, 0 = no limit; absent = the daemon's default (stream-idle.ts). */
  streamIdleTimeoutSeconds: z.number().nonnegative().optional(),
});
export type RunSettings = z.infer<typeof RunSettings>;

export const ProbeState = z.object({
  successStreak: z.number().int(),
  lastOk: z.boolean().optional(),
  lastAt: z.number().optional(),
  /** Consecutive failures (absent = none): liveness counts them once the replica was ready. */
  failureStreak: z.number().int().positive().optional(),
});
export type ProbeState = z.infer<typeof ProbeState>;

export const ReplicaRecord = z.object({
  /** Agent replica id and container name: `<run>-<num>-<submission>`. */
  id: z.string(),
  num: z.number().int().nonnegative(),
  /** The replica group it belongs to; absent = the implicit group "0" (state written before groups existed). */
  group: z.string().optional(),
  submission: z.number().int().nonnegative(),
  deployment: z.number().int().nonnegative(),
  status: JobStatus,
  ready: z.boolean(),
  probes: z.array(ProbeState),
  backend: z.string().optional(),
  instance: z.string().optional(),
  hostPort: z.number().int().optional(),
  containerId: z.string().optional(),
  runtime: z.enum(['docker', 'process']).optional(),
  agentPhase: z.string().optional(),
  statusMessage: z.string().optional(),
  /** Machine-readable termination reason (dstack's JobTerminationReason spirit), e.g. container_exited_with_error. */
  reason: z.string().optional(),
  error: z.string().optional(),
  exitCode: z.number().int().optional(),
  submittedAt: z.number(),
  startedAt: z.number().optional(),
  readyAt: z.number().optional(),
  finishedAt: z.number().optional(),
  /** The agent no longer holds its container/process (stopped through the daemon, or swept after it ended). */
  removed: z.boolean().optional(),
  /** Set when the daemon decided to stop this replica; the loop drains then stops it on the agent. */
  stop: z.object({ abort: z.boolean(), reason: z.string(), at: z.number() }).optional(),
  /**
   * A replica that was ready and whose probes then failed `failure_threshold` times in a row (liveness.ts): out of
   * routing unless it is the service's last one; `replacing` once the grace period is over and a replacement is on
   * its way. Kept on the final record so views can say why it was replaced.
   */
  unhealthy: z.object({ since: z.number(), reason: z.string(), replacing: z.boolean().optional() }).optional(),
  /** Placement on a fleet instance (issue 5): blocks taken and GPU ids given; absent on the local backend. */
  blocks: z.number().int().positive().optional(),
  gpuIds: z.array(z.string()).optional(),
});
export type ReplicaRecord = z.infer<typeof ReplicaRecord>;

export const RunRecord = z.object({
  id: z.string(),
  name: z.string(),
  project: z.string(),
  user: z.string(),
  /** The raw configuration as applied (env resolved by the CLI). */
  configRaw: Json,
  /** The normalized configuration. */
  config: StoredServiceConfig,
  configPath: z.string().optional(),
  repo: RepoInfo.optional(),
  settings: RunSettings,
  /** Replica spec of the current deployment, minus the per-replica fields (id, replicaNum). */
  specTemplate: ReplicaSpec.omit({ id: true, replicaNum: true }),
  /** With explicit replica groups: the spec template of each group, by group name (`specTemplate` = the first). */
  specTemplates: z.record(z.string(), ReplicaSpec.omit({ id: true, replicaNum: true })).optional(),
  status: RunStatus,
  statusMessage: z.string().optional(),
  error: z.string().optional(),
  /** Why the run is ending: stopped_by_user, aborted_by_user, job_failed, max_duration_exceeded, all_jobs_done. */
  terminationReason: z.string().optional(),
  submittedAt: z.number(),
  finishedAt: z.number().optional(),
  deployment: z.number().int().nonnegative(),
  desiredReplicas: z.number().int().nonnegative(),
  /** With explicit replica groups: the desired count of each group (`desiredReplicas` is their sum). */
  desiredByGroup: z.record(z.string(), z.number().int().nonnegative()).optional(),
  /** Submission numbers continue across runs of the same name so container names never clash. */
  submissionBase: z.number().int().nonnegative().default(0),
  replicas: z.array(ReplicaRecord),
});
export type RunRecord = z.infer<typeof RunRecord>;

/** How the SSH backend reaches a fleet host (src/core/fleets/types.ts SshTarget), kept so a restart reconnects. */
export const SshTargetRecord = z.object({
  instance: z.string(),
  fleet: z.string(),
  hostname: z.string(),
  port: z.number().int(),
  user: z.string(),
  identityFile: z.string(),
  proxyJump: z.object({ hostname: z.string(), port: z.number().int(), user: z.string(), identityFile: z.string() }).optional(),
  internalIp: z.string().optional(),
  blocks: z.union([z.number().int().positive(), z.literal('auto')]),
});

export const CloudInstanceRecord = z.object({
  instanceId: z.string(),
  region: z.string(),
  zone: z.string().optional(),
  instanceType: z.string(),
  spot: z.boolean(),
  price: z.number(),
  user: z.string(),
  sshPort: z.number().int(),
  hostname: z.string().optional(),
  internalIp: z.string().optional(),
  backendData: Json.optional(),
});
export type CloudInstanceRecord = z.infer<typeof CloudInstanceRecord>;

export const InstanceRecord = z.object({
  name: z.string(),
  fleet: z.string().optional(),
  /** The fleet's project; absent = the server's default project (state written before projects had fleets). */
  project: z.string().optional(),
  backend: z.string(),
  status: InstanceStatus,
  unreachable: z.boolean().default(false),
  /** When the host became unreachable; its replicas fail over once the loss window has passed. */
  unreachableSince: z.number().optional(),
  createdAt: z.number(),
  error: z.string().optional(),
  /** SSH fleet hosts: the target, the latest provisioning message, the agent's host info once joined. */
  target: SshTargetRecord.optional(),
  progress: z.string().optional(),
  host: HostInfo.optional(),
  /** `blocks` resolved against the host's GPUs (resolveBlocks) once the host info is known. */
  blocks: z.number().int().positive().optional(),
  /** Cloud instances (src/backends/compute.ts CloudInstance): stored as soon as the provider returns an id. */
  cloud: CloudInstanceRecord.optional(),
  /** Since when no live replica has used the instance (cloud fleets terminate above `min` after idle_duration). */
  idleSince: z.number().optional(),
  /** Why it ended: terminated_by_user, idle_timeout, interrupted (spot), terminated_externally, provisioning_failed… */
  terminationReason: z.string().optional(),
  /**
   * Cloud instances created for a waiting replica (fleet growth): its id, so a restart does not create a second one
   * for it, and its resource requirements, which narrow the offers beyond the fleet's own `resources`; `spot` when
   * the replica must run on spot (true) or on demand (false) (a service's `fallback`, core/runs/spot-fallback.ts).
   */
  forReplica: z.object({ id: z.string(), requirements: Json, spot: z.boolean().optional() }).optional(),
});
export type InstanceRecord = z.infer<typeof InstanceRecord>;

export const FleetRecord = z.object({
  name: z.string(),
  project: z.string(),
  status: z.enum(['submitted', 'active', 'terminating', 'terminated', 'failed']),
  createdAt: z.number(),
  configRaw: Json,
  configPath: z.string().optional(),
});
export type FleetRecord = z.infer<typeof FleetRecord>;

export const UserRecord = z.object({
  name: z.string(),
  globalRole: GlobalRole,
  /** sha256 hex of the token: the token itself is shown once, when the user is created, and kept nowhere. */
  tokenHash: z.string(),
  createdAt: z.number(),
  /**
   * On config.yml's user: the config.yml projects deleted through the API, so that the next start does not make
   * them again (daemon/accounts/deleted-projects.ts). Absent = none.
   */
  deletedConfigProjects: z.array(z.string()).optional(),
});
export type UserRecord = z.infer<typeof UserRecord>;

export const ProjectRecord = z.object({
  name: z.string(),
  createdAt: z.number(),
  createdBy: z.string(),
  members: z.array(ProjectMember),
});
export type ProjectRecord = z.infer<typeof ProjectRecord>;

export const State = z.object({
  version: z.literal(STATE_VERSION),
  runs: z.array(RunRecord),
  instances: z.array(InstanceRecord),
  fleets: z.array(FleetRecord),
  // Absent in state written before users and projects existed; the daemon fills them from config.yml at start.
  users: z.array(UserRecord).default([]),
  projects: z.array(ProjectRecord).default([]),
});
export type State = z.infer<typeof State>;

export function emptyState(): State {
  return { version: STATE_VERSION, runs: [], instances: [], fleets: [], users: [], projects: [] };
}
