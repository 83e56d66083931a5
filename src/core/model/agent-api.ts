/**
 * The contract between the daemon and `dstack-agent` (DESIGN.md §2). The agent imports only this file
 * (and other files of src/core/model) from core. Every agent route is under /api and needs
 * `Authorization: Bearer <host token>`; errors are `{code, message}` JSON.
 *
 *   GET    /api/health                     → AgentHealth
 *   GET    /api/host                       → HostInfo
 *   POST   /api/replicas        ReplicaSpec → ReplicaState (201; 400 naming the field for an invalid spec)
 *   GET    /api/replicas                   → {replicas: ReplicaState[]}
 *   GET    /api/replicas/:id               → ReplicaState (404 UNKNOWN_REPLICA)
 *   GET    /api/replicas/:id/logs?follow=1&since=<unix seconds>   → text/plain stream
 *   GET    /api/replicas/:id/metrics       → ReplicaMetrics, sampled on request (409 REPLICA_NOT_RUNNING)
 *   DELETE /api/replicas/:id?timeout=<s>   → ReplicaState after stop (graceful: SIGTERM, timeout, kill); idempotent
 *   GET    /api/events                     → text/event-stream of AgentEvent (`data: <json>\n\n`), first a snapshot
 *   GET    /api/archives/:sha256           → 204 stored, 404 not (issue 8)
 *   PUT    /api/archives/:sha256  (body)   → 201 {bytes}: stored once per host; 400 ARCHIVE_CHECKSUM_MISMATCH, 413 over the cap
 */
import { z } from 'zod';
import { GpuVendor } from './gpu-vendor.js';


export { GpuVendor };

export const GpuInfo = z.object({
  vendor: GpuVendor,
  name: z.string(),
  memoryMiB: z.number().int().nonnegative(),
  /** NVIDIA: GPU UUID (`GPU-…`); AMD: render node path (`/dev/dri/renderD128`). */
  id: z.string(),
  index: z.number().int().nonnegative(),
  driver: z.string().optional(),
});
export type GpuInfo = z.infer<typeof GpuInfo>;

export const HostInfo = z.object({
  hostname: z.string(),
  arch: z.string(),
  cpus: z.number().int().positive(),
  memoryBytes: z.number().nonnegative(),
  diskFreeBytes: z.number().nonnegative(),
  diskTotalBytes: z.number().nonnegative(),
  gpus: z.array(GpuInfo),
  addresses: z.array(z.string()),
  /** Which runtime replicas use on this host: docker when an engine answers, else plain processes. */
  runtime: z.enum(['docker', 'process']),
  docker: z.object({ available: z.boolean(), version: z.string().optional(), error: z.string().optional() }),
});
export type HostInfo = z.infer<typeof HostInfo>;

export const AgentHealth = z.object({
  version: z.string(),
  uptimeSeconds: z.number(),
  pid: z.number().int(),
  runtime: z.enum(['docker', 'process']),
  docker: z.object({ available: z.boolean(), version: z.string().optional(), error: z.string().optional() }),
});
export type AgentHealth = z.infer<typeof AgentHealth>;

export const VolumeMount = z.object({
  hostPath: z.string().startsWith('/'),
  containerPath: z.string().startsWith('/'),
  readOnly: z.boolean().default(false),
  /** Create the host directory when it is missing (instance volumes) instead of failing. */
  create: z.boolean().default(true),
});
export type VolumeMount = z.infer<typeof VolumeMount>;

export const ReplicaSpec = z
  .object({
    /** Unique id chosen by the daemon; also the container name (`<run>-<replica>-<submission>`). */
    id: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/),
    project: z.string().default('main'),
    runName: z.string().min(1),
    replicaNum: z.number().int().nonnegative(),
    /** Docker image; absent only for the process runtime (then `commands` are required). */
    image: z.string().min(1).optional(),
    registryAuth: z.object({ username: z.string(), password: z.string() }).optional(),
    /** Pull even if the image exists locally (`:latest` tags are always pulled when a registry answers). */
    pullPolicy: z.enum(['if-not-present', 'always']).default('if-not-present'),
    commands: z.array(z.string()).default([]),
    /**
     * Commands the image needs before `commands` (dstack's base image: the uv venv for `python:`). They run only
     * in a container; the process runtime skips them, since the host is not that image.
     */
    imageSetup: z.array(z.string()).default([]),
    /** Docker-style entrypoint string (split like a shell would); commands become its arguments. */
    entrypoint: z.string().optional(),
    /** Shell that runs `commands` joined with ` && ` (`set -e` semantics). Default `/bin/sh`. */
    shell: z.string().default('/bin/sh'),
    env: z.record(z.string(), z.string()).default({}),
    workingDir: z.string().optional(),
    user: z.string().optional(),
    privileged: z.boolean().default(false),
    shmSizeBytes: z.number().int().positive().optional(),
    /** Limits apply when the host is shared (blocks); absent = whole host. */
    cpuLimit: z.number().positive().optional(),
    memoryLimitBytes: z.number().int().positive().optional(),
    gpus: z
      .object({ vendor: GpuVendor, ids: z.array(z.string()).min(1) })
      .optional(),
    volumes: z.array(VolumeMount).default([]),
    /** Port the service listens on inside the container; published on 127.0.0.1:<ephemeral> of the host. */
    port: z.number().int().min(1).max(65535),
    /** Seconds between SIGTERM and SIGKILL on stop. */
    stopTimeoutSeconds: z.number().int().nonnegative().default(10),
    /**
     * Code archive (issue 8): sha256 of an archive already PUT to /api/archives, extracted into `dir`. `files`
     * places the archive's `.dstack-files/<source>` entries (the config's `files:`) at absolute container paths.
     */
    repo: z
      .object({
        sha256: z.string().regex(/^[a-f0-9]{64}$/),
        dir: z.string().startsWith('/'),
        files: z.array(z.object({ source: z.string().regex(/^\d+$/), target: z.string().startsWith('/') })).default([]),
      })
      .optional(),
    runtime: z.enum(['auto', 'docker', 'process']).default('auto'),
  })
  .strict();
export type ReplicaSpec = z.infer<typeof ReplicaSpec>;
export type ReplicaSpecInput = z.input<typeof ReplicaSpec>;

export const ReplicaPhase = z.enum(['pending', 'pulling', 'creating', 'running', 'stopping', 'exited', 'failed']);
export type ReplicaPhase = z.infer<typeof ReplicaPhase>;

export const PullProgress = z.object({
  layersTotal: z.number().int().nonnegative(),
  layersDone: z.number().int().nonnegative(),
  bytesTotal: z.number().nonnegative(),
  bytesDone: z.number().nonnegative(),
});
export type PullProgress = z.infer<typeof PullProgress>;

export const ReplicaState = z.object({
  id: z.string(),
  runName: z.string(),
  replicaNum: z.number().int(),
  project: z.string(),
  runtime: z.enum(['docker', 'process']),
  phase: ReplicaPhase,
  /** Host port on 127.0.0.1 where the service answers (set once running). */
  hostPort: z.number().int().optional(),
  /**
   * Docker: the container's address on its network, reachable from the host only (`dstack attach` reaches ports
   * other than the published one there). Absent for processes, which listen on the host itself.
   */
  address: z.string().optional(),
  containerId: z.string().optional(),
  pid: z.number().int().optional(),
  exitCode: z.number().int().optional(),
  /** Machine-readable reason for exited/failed, e.g. IMAGE_NOT_FOUND, PULL_DENIED, CONTAINER_EXITED, UNKNOWN_USER. */
  reason: z.string().optional(),
  /** Human-readable message; for a crashed container it ends with the last log lines. */
  message: z.string().optional(),
  pull: PullProgress.optional(),
  createdAt: z.number(),
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
});
export type ReplicaState = z.infer<typeof ReplicaState>;

export const AgentEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('snapshot'), replicas: z.array(ReplicaState) }),
  z.object({ type: z.literal('replica'), replica: ReplicaState }),
  z.object({ type: z.literal('removed'), id: z.string() }),
  z.object({ type: z.literal('docker'), available: z.boolean(), error: z.string().optional() }),
]);
export type AgentEvent = z.infer<typeof AgentEvent>;

export { GpuMetrics, ReplicaMetrics } from './agent-metrics.js';
