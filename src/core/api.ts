/**
 * The control API between the CLI and the daemon (DESIGN.md §2), all under /api with
 * `Authorization: Bearer <admin token from DSTACK_HOME/config.yml>`. Errors are `{code, message, hint?}`.
 *
 * The CLI parses and validates the YAML itself (positions, env resolution) and sends the resolved raw
 * configuration object; the daemon parses it again with the same schema, so both sides agree.
 *
 *   GET  /api/health                          → Health (no auth)
 *   POST /api/runs/plan     PlanRequest       → RunPlan
 *   POST /api/runs/apply    ApplyRequest      → RunView
 *   GET  /api/runs?all=1                      → {runs: RunView[]}
 *   GET  /api/runs/:name                      → RunView (404 RUN_NOT_FOUND)
 *   POST /api/runs/:name/stop {abort?}        → RunView
 *   POST /api/runs/:name/restart              → RunView (write role): an active run rolls every replica over to a
 *                                               fresh one (a new deployment, no downtime); a finished one is submitted
 *                                               again from its stored configuration; 409 RUN_ENDING while it stops
 *   GET  /api/runs/:name/logs?replica=N&follow=1&since=S → text/plain stream
 *   GET  /api/runs/:name/events               → text/event-stream of RunView snapshots on every change
 *   GET  /api/runs/:name/metrics              → RunMetrics (each active replica sampled by its host's agent)
 *   GET  /api/runs/:name/history?after=T      → HistoryAnswer (the last hour of the dashboard's plots, 5 s apart)
 *   GET  /api/runs/:name/attach?replica=N     → AttachInfo (src/core/attach/api.ts); with `port=P` and
 *                                               `Upgrade: dstack-attach` → 101, then raw bytes to port P of the replica
 *   POST /api/fleets/plan   FleetPlanRequest  → FleetPlan
 *   POST /api/fleets/apply  FleetApplyRequest → FleetView (at once; hosts are provisioned in the background)
 *   GET  /api/fleets?all=1                    → {fleets: FleetView[]}
 *   GET  /api/fleets/:name                    → FleetView (404 FLEET_NOT_FOUND)
 *   GET  /api/fleets/:name/events             → text/event-stream of FleetView snapshots on every change
 *   DELETE /api/fleets/:name                  → FleetView (terminating; hosts are cleaned in the background)
 *   GET  /api/offers?gpu=&cpu=&memory=&disk=&backend=&region=&instance_type=&spot_policy=&max_price=&max_offers=
 *                                             → OffersResponse (src/core/catalog/query.ts reads the query)
 *   POST /api/catalog/refresh CatalogRefreshRequest → CatalogRefreshResult
 *   GET  /api/secrets                         → {secrets: SecretView[]} (names and dates, never values)
 *   GET  /api/secrets/:name                   → SecretValue (the one answer with a value: `dstack secret get`)
 *   PUT  /api/secrets/:name {value}           → SetSecretResult (created or replaced; 400 INVALID_SECRET_NAME)
 *   DELETE /api/secrets/:name                 → SecretView (404 SECRET_NOT_FOUND)
 *   GET  /api/me                              → MeView (src/core/auth/api.ts, as the next routes' bodies)
 *   GET  /api/users                           → {users: UserView[]} (global admin only, as the next two)
 *   POST /api/users  CreateUserRequest        → CreateUserResult (the token, this once only; 409 ALREADY_EXISTS)
 *   DELETE /api/users/:name                   → UserView (404 USER_NOT_FOUND; not oneself)
 *   GET  /api/projects                        → {projects: ProjectView[]} (the caller's; all for a global admin)
 *   POST /api/projects CreateProjectRequest   → ProjectView (any user, who becomes its admin)
 *   GET  /api/projects/:p                     → ProjectView (404 PROJECT_NOT_FOUND, 403 FORBIDDEN)
 *   DELETE /api/projects/:p                   → ProjectView (project admin; 409 while runs or fleets are active)
 *   GET  /api/projects/:p/members             → {members: ProjectMember[]}
 *   POST /api/projects/:p/members AddMemberRequest → ProjectView (adds, or changes the role; manager or admin)
 *   DELETE /api/projects/:p/members/:user     → ProjectView (never the last admin)
 */
import { z } from 'zod';
import { ReplicaMetrics } from './model/agent-metrics.js';
import { CatalogInfo, Offer, Resources } from './offers-api.js';

export const DEFAULT_SERVER_PORT = 3000;

export const Health = z.object({
  version: z.string(),
  pid: z.number().int(),
  uptimeSeconds: z.number(),
  home: z.string(),
  /** Servers on a shared database (issue 17): whether this one leads, and the leader's advertised URL. */
  role: z.enum(['leader', 'standby']).optional(),
  leader: z.string().optional(),
});
export type Health = z.infer<typeof Health>;

export const RunStatus = z.enum(['pending', 'submitted', 'provisioning', 'running', 'terminating', 'terminated', 'failed', 'done']);
export type RunStatus = z.infer<typeof RunStatus>;

export const JobStatus = z.enum(['submitted', 'provisioning', 'pulling', 'running', 'terminating', 'terminated', 'aborted', 'failed', 'done']);
export type JobStatus = z.infer<typeof JobStatus>;

export const InstanceStatus = z.enum(['pending', 'provisioning', 'idle', 'busy', 'terminating', 'terminated']);
export type InstanceStatus = z.infer<typeof InstanceStatus>;

export const ProbeView = z.object({ successStreak: z.number().int(), lastOk: z.boolean().optional(), readyAfter: z.number().int() });

export const ReplicaView = z.object({
  num: z.number().int(),
  submission: z.number().int(),
  deployment: z.number().int(),
  status: JobStatus,
  /** Probes passed: the replica gets traffic. */
  ready: z.boolean(),
  probes: z.array(ProbeView),
  backend: z.string().optional(),
  instance: z.string().optional(),
  resources: Resources.optional(),
  /** Short status message as dstack prints it: `exited (1)`, `no capacity`, `pulling 3/5 layers`… */
  statusMessage: z.string().optional(),
  error: z.string().optional(),
  exitCode: z.number().int().optional(),
  submittedAt: z.number(),
  finishedAt: z.number().optional(),
  /** The replica group (`groups:`); absent for a service without groups. */
  group: z.string().optional(),
  /** Why it ended, machine-readable (`unhealthy`, `scaled_down`, `container_exited_with_error`, …). */
  reason: z.string().optional(),
  /**
   * Its probes failed `failure_threshold` times in a row after it was ready: `routed` while no other replica is
   * ready, `replacing` once the grace period is over.
   */
  unhealthy: z.object({ since: z.number(), reason: z.string(), routed: z.boolean(), replacing: z.boolean() }).optional(),
  /** On a cloud instance: its backend (`backend` stays `ssh`, the fleet placement), type, region and price. */
  cloud: z.object({ backend: z.string(), instanceType: z.string(), region: z.string(), spot: z.boolean(), price: z.number() }).optional(),
  /** Why the submission before this one failed, when its instance went (interrupted, terminated, unreachable). */
  replacedBecause: z.string().optional(),
});
export type ReplicaView = z.infer<typeof ReplicaView>;

/** One replica group of a service with `groups:`: running/desired replicas, its range, the rps over its window. */
export const GroupView = z.object({
  name: z.string(),
  running: z.number().int(),
  desired: z.number().int(),
  min: z.number().int(),
  max: z.number().int(),
  rps: z.number().optional(),
});
export type GroupView = z.infer<typeof GroupView>;

export const RunView = z.object({
  name: z.string(),
  project: z.string(),
  user: z.string(),
  type: z.literal('service'),
  status: RunStatus,
  statusMessage: z.string().optional(),
  error: z.string().optional(),
  submittedAt: z.number(),
  finishedAt: z.number().optional(),
  deployment: z.number().int(),
  desiredReplicas: z.number().int(),
  replicas: z.array(ReplicaView),
  /** `http://127.0.0.1:3000/proxy/services/<project>/<run>/` */
  url: z.string(),
  auth: z.boolean(),
  model: z.object({ name: z.string(), url: z.string(), format: z.string() }).optional(),
  rps: z.number().optional(),
  /** Replica groups, for a service with `groups:`. */
  groups: z.array(GroupView).optional(),
  /** The raw configuration object the run was applied with (secrets masked). */
  config: z.unknown(),
});
export type RunView = z.infer<typeof RunView>;

export const RepoInfo = z.object({
  sha256: z.string(),
  files: z.number().int(),
  bytes: z.number(),
  /** Absolute path of the archive on the CLI's machine (same machine as the daemon). */
  archivePath: z.string(),
  /** DSTACK_REPO_ID for the replicas: from the git remote, else from the repo's root path. */
  id: z.string().optional(),
});
export type RepoInfo = z.infer<typeof RepoInfo>;

export const PlanRequest = z.object({
  config: z.unknown(),
  configPath: z.string().optional(),
  repo: RepoInfo.optional(),
  /** Key paths in `config` of values the CLI took from its caller: stored and shown masked (core/secrets/supplied.ts). */
  secretPaths: z.array(z.array(z.union([z.string(), z.number()]))).optional(),
});
export type PlanRequest = z.infer<typeof PlanRequest>;

export const ApplyRequest = PlanRequest.extend({ force: z.boolean().default(false) });
export type ApplyRequest = z.infer<typeof ApplyRequest>;

export const RunPlan = z.object({
  project: z.string(),
  user: z.string(),
  runName: z.string(),
  /** Pretty resources spec, e.g. `cpu=2.. mem=8GB.. disk=100GB.. gpu=0..` */
  resources: z.string(),
  spotPolicy: z.string(),
  maxPrice: z.string(),
  retryPolicy: z.string(),
  creationPolicy: z.string(),
  idleDuration: z.string(),
  maxDuration: z.string(),
  offers: z.array(Offer),
  totalOffers: z.number().int(),
  action: z.enum(['create', 'update', 'none', 'recreate']),
  /** Human-readable list of changes against the active run for update/recreate. */
  changes: z.array(z.string()),
  /** "not supported yet" notices and other warnings to print above the confirmation. */
  warnings: z.array(z.string()),
  currentRun: RunView.optional(),
  /** The catalogs the cloud offers come from (the plan prints their date). */
  catalogs: z.array(CatalogInfo).optional(),
});
export type RunPlan = z.infer<typeof RunPlan>;

export const InstanceView = z.object({
  name: z.string(),
  fleet: z.string(),
  host: z.string(),
  status: InstanceStatus,
  unreachable: z.boolean(),
  resources: Resources.optional(),
  backend: z.string(),
  /** The provisioning step in progress (`uploading dstack-agent…`), while status is pending/provisioning. */
  progress: z.string().optional(),
  blocks: z.number().int().positive().optional(),
  busyBlocks: z.number().int().nonnegative().optional(),
  error: z.string().optional(),
  createdAt: z.number(),
  /** Cloud instances: what was created where, at what price (dollars per hour). */
  cloud: z
    .object({ instanceId: z.string(), instanceType: z.string(), region: z.string(), zone: z.string().optional(), spot: z.boolean(), price: z.number() })
    .optional(),
  /** Why a terminated instance ended: idle_timeout, interrupted, terminated_externally, terminated_by_user, provisioning_failed. */
  terminationReason: z.string().optional(),
  /** Cloud instances without live replicas: since when (idle_duration counts from here). */
  idleSince: z.number().optional(),
});
export type InstanceView = z.infer<typeof InstanceView>;

/** A cloud fleet's `nodes` (dstack FleetNodesSpec): apply creates `target`, growth stops at `max` (absent = no limit). */
export const FleetNodesView = z.object({ min: z.number().int(), target: z.number().int(), max: z.number().int().optional() });
export type FleetNodesView = z.infer<typeof FleetNodesView>;

export const FleetView = z.object({
  name: z.string(),
  project: z.string(),
  status: z.enum(['submitted', 'active', 'terminating', 'terminated', 'failed']),
  instances: z.array(InstanceView),
  createdAt: z.number(),
  config: z.unknown(),
  /** Cloud fleets only (SSH fleets list hosts). */
  nodes: FleetNodesView.optional(),
});
export type FleetView = z.infer<typeof FleetView>;

export const FleetPlanRequest = z.object({ config: z.unknown(), configPath: z.string().optional() });
export type FleetPlanRequest = z.infer<typeof FleetPlanRequest>;

export const FleetApplyRequest = FleetPlanRequest.extend({ force: z.boolean().default(false) });
export type FleetApplyRequest = z.infer<typeof FleetApplyRequest>;

export const FleetPlan = z.object({
  project: z.string(),
  fleetName: z.string(),
  action: z.enum(['create', 'update', 'none']),
  /** Hosts as `user@host:port` with what happens to each: `add`, `keep`, `remove`. */
  hosts: z.array(z.object({ host: z.string(), instance: z.string(), action: z.enum(['add', 'keep', 'remove']) })),
  changes: z.array(z.string()),
  warnings: z.array(z.string()),
  currentFleet: FleetView.optional(),
  /** Cloud fleets: `nodes`, and the cheapest offers its instances would be created from (of `offersTotal`). */
  nodes: FleetNodesView.optional(),
  offers: z.array(Offer).optional(),
  offersTotal: z.number().int().optional(),
  /** The highest price of all `offersTotal` offers (dollars per hour). */
  offersMaxPrice: z.number().optional(),
  /** The catalogs those offers come from (the plan prints their date). */
  catalogs: z.array(CatalogInfo).optional(),
});
export type FleetPlan = z.infer<typeof FleetPlan>;

/** A replica as `dstack metrics` lists it: its figures when it runs and its host answered, else why not. */
export const ReplicaMetricsView = z.object({
  num: z.number().int(),
  submission: z.number().int(),
  group: z.string().optional(),
  status: JobStatus,
  backend: z.string().optional(),
  instance: z.string().optional(),
  metrics: ReplicaMetrics.optional(),
  /** Why a running replica has no figures (its host did not answer, the container just exited). */
  error: z.string().optional(),
});
export type ReplicaMetricsView = z.infer<typeof ReplicaMetricsView>;

export const RunMetrics = z.object({
  run: z.string(),
  project: z.string(),
  status: RunStatus,
  /** The run's active replicas (the newest submission of each number), running or not. */
  replicas: z.array(ReplicaMetricsView),
});
export type RunMetrics = z.infer<typeof RunMetrics>;

export * from './offers-api.js';
export * from './secrets/api.js';
export * from './auth/api.js';
export * from './history-api.js';

/** The paths the web dashboard answers (src/daemon/api/dashboard.ts); anything else stays the proxy's 404. */
export function isDashboardPath(path: string): boolean {
  return path === '/' || path === '/index.html' || path === '/ui' || path.startsWith('/ui/');
}
