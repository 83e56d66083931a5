/**
 * The configuration language (dstack `type: service` / `type: fleet`, plus SkyServe YAMLs translated into
 * services by src/core/config). Parse with `parseConfigObject` / `loadConfigFile` from src/core/config.
 *
 * Normalized shape (the output of the schemas; nothing past them sees raw strings):
 * - durations → seconds (`5m` → 300); `off` stays `'off'` (max_duration, stop_duration, idle_duration).
 * - sizes → bytes (`8GB` → 8·1024³); ranges → `{min, max?}` (absent `max` = unbounded): `replicas`
 *   (always `{min, max}`; 1..1 by default), resources cpu/memory/disk/gpu counts and memory.
 * - `port` → `{local_port, container_port}` (`8000` → `{80, 8000}`).
 * - `resources` → `{cpu: {arch?, count}, memory, shm_size?, gpu: {vendor?, name?: string[], count, memory?,
 *   total_memory?, compute_capability?}, disk: {size}}`, defaults `cpu 2.. mem 8GB.. disk 100GB.. gpu 0..`;
 *   a given GPU spec defaults its count to `1..`.
 * - `env` → `{KEY: "value" | {required: true}}` (a bare `- KEY` is required; resolve with `resolveEnv`).
 * - `model` → `{type: 'chat', name, format: 'openai', prefix}` | `{type: 'chat', name, format: 'tgi', chat_template?, eos_token?}`.
 * - `scaling` → `{metric: 'rps', target, window, scale_up_delay, scale_down_delay}` (60 / 300 / 600 by default).
 * - `probes` → undefined (omitted: the daemon adds the model probe if `model` is set) or full ProbeConfig objects.
 * - `retry` → `false` | `{on_events, duration}`; `volumes` → `{type: 'network', name[], path}` |
 *   `{type: 'instance', instance_path, path, optional}`; `files` → `{local_path, path}`; `repos` → RepoSpec.
 * - `groups` (replica groups; also from legacy `replicas: [..]`) with `replicas` = their sum; use
 *   `replicaGroups(config)` to always get groups.
 * - Services carry `source_format: 'dstack' | 'skyserve'`; SkyServe ones also `skyserve: SkyServeExtras`.
 * - Fleets: `ssh_config.hosts` are objects with hostname, port, user, identity_file, proxy_jump?, internal_ip?, blocks;
 *   cloud fleets' `nodes` (a count, a range or `{min, target, max}`) → `{min, max?, target}`.
 * - Parsed but not run yet (`backend_options`): listed by
 *   `unsupportedFields` in src/core/config/unsupported-fields.ts.
 */
import type { z } from 'zod';
import type { FleetConfig } from './fleet.js';
import type { Model, Probe, RateLimit, Scaling } from './service-parts.js';
import type { ServiceConfig } from './service.js';
import type { ReplicaGroupConfig } from './replicas.js';

export { ServiceConfigSchema, RUN_IDLE_DEFAULT, type ServiceConfig, type ServiceConfigInput, type SkyServeExtras } from './service.js';
export { FleetConfigSchema, FLEET_IDLE_DEFAULT, isPrivateIp, type FleetConfig, type FleetNodes, type SshHostConfig } from './fleet.js';
export { Resources as ResourcesSchema, DEFAULT_RESOURCES, type ResourcesSpec, type CpuSpec, type DiskSpec, type CpuArch } from './resources.js';
export { Gpu as GpuSchema, parseGpuString, inferVendor, DEFAULT_GPU, type GpuSpec, GpuVendor } from './gpu.js';
export { Env as EnvSchema, ENV_REQUIRED, ENV_KEY, isEnvRequired, requiredEnvNames, type EnvSpec, type EnvValue, type EnvRequired } from './env.js';
export { Port as PortSchema, Model as ModelSchema, Probe as ProbeSchema, Scaling as ScalingSchema, RateLimit as RateLimitSchema, PROBE_METHODS, SCALING_WINDOWS, type PortMapping } from './service-parts.js';
export { RETRY_EVENTS, DEFAULT_RETRY_DURATION, type RetryConfig, type RetryEvent } from './profile.js';
export { isRepoUrl, PYTHON_VERSIONS, RESOURCE_NAME, type PythonVersion, type VolumeMountConfig, type FileMapping, type RepoSpec } from './run-base.js';
export { sumRanges, ROUTER_TYPES, type ReplicaGroupConfig } from './replicas.js';
export { parseDuration, parseMemory, parseRange, GB, type Range } from './units.js';
export { closest, levenshtein, unknownFieldMessage } from './strict.js';

export type ModelConfig = z.output<typeof Model>;
export type ProbeConfig = z.output<typeof Probe>;
export type ScalingConfig = z.output<typeof Scaling>;
export type RateLimit = z.output<typeof RateLimit>;
export type AnyConfig = ServiceConfig | FleetConfig;
export type ConfigKind = AnyConfig['type'];

/** The replica groups of a service: its `groups`, or one implicit group `"0"` made of the top-level fields. */
export function replicaGroups(config: ServiceConfig): ReplicaGroupConfig[] {
  if (config.groups) return config.groups;
  const { replicas, scaling, resources, commands, image, python, nvcc, docker, privileged, spot_policy, reservation } = config;
  return [{ name: '0', replicas, scaling, resources, commands, image, python, nvcc, docker, privileged, spot_policy, reservation }];
}
