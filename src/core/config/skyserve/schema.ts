/**
 * The SkyServe service YAML (a SkyPilot task with a `service:` section, skyserve-notes §1), strict like
 * SkyPilot's JSON schema (`additionalProperties: false`), so typos get a did-you-mean here too.
 */
import { z } from 'zod';
import { strictObject } from '../../model/strict.js';

/** SkyServe constants (sky/serve/constants.py), kept so behaviour matches what SkyServe users expect. */
export const SKYSERVE = {
  probeIntervalSeconds: 10,
  probeTimeoutSeconds: 15,
  initialDelaySeconds: 1200,
  upscaleDelaySeconds: 300,
  downscaleDelaySeconds: 1200,
  qpsWindowSeconds: 60,
  minReplicas: 1,
} as const;

// Each built on first use (issue 15): only a SkyServe YAML needs them, and every `dstack validate` paid for them.
export const SkyService = z.lazy(() => {
  const ReadinessProbe = z.union([
    z.string(),
    strictObject({
      path: z.string().describe('The path to probe; must start with `/`.'),
      post_data: z.union([z.string(), z.record(z.string(), z.unknown())]).optional().describe('JSON body; the probe POSTs it.'),
      initial_delay_seconds: z.number().nonnegative().optional().describe('Probe failures are ignored this long (default 1200).'),
      timeout_seconds: z.number().positive().optional().describe('The probe timeout (default 15).'),
      headers: z.record(z.string(), z.string()).optional().describe('Headers sent with the probe.'),
    }),
  ]);

  const ReplicaPolicy = strictObject({
    min_replicas: z.number().int().min(0),
    max_replicas: z.number().int().min(0).optional(),
    target_qps_per_replica: z.union([z.number().min(0), z.record(z.string(), z.number())]).optional(),
    num_overprovision: z.number().int().min(0).optional(),
    upscale_delay_seconds: z.number().min(0).optional(),
    downscale_delay_seconds: z.number().min(0).optional(),
    base_ondemand_fallback_replicas: z.number().int().min(0).optional(),
    dynamic_ondemand_fallback: z.boolean().optional(),
    spot_placer: z.string().optional(),
  });

  return strictObject({
    readiness_probe: ReadinessProbe.optional(),
    replicas: z.number().int().min(0).optional(),
    replica_policy: ReplicaPolicy.optional(),
    ports: z.number().int().min(1).max(65535).optional(),
    load_balancing_policy: z.string().optional(),
    tls: strictObject({ keyfile: z.string(), certfile: z.string() }).optional(),
  });
});

export const SkyResources = z.lazy(() => {
  const scalarOrString = z.union([z.number(), z.string()]);
  return strictObject({
    ports: z.union([z.number().int(), z.string(), z.array(z.union([z.number().int(), z.string()]))]).optional(),
    cpus: scalarOrString.optional(),
    memory: scalarOrString.optional(),
    accelerators: z.union([z.string(), z.record(z.string(), z.union([z.number(), z.null()])), z.array(z.string())]).optional(),
    accelerator_args: z.record(z.string(), z.unknown()).optional(),
    disk_size: z.number().int().positive().optional(),
    disk_tier: z.string().optional(),
    network_tier: z.string().optional(),
    use_spot: z.boolean().optional(),
    spot_recovery: z.string().optional(),
    job_recovery: z.unknown().optional(),
    cloud: z.string().optional(),
    infra: z.string().optional(),
    region: z.string().optional(),
    zone: z.string().optional(),
    instance_type: z.string().optional(),
    image_id: z.union([z.string(), z.record(z.string(), z.string())]).optional(),
    labels: z.record(z.string(), z.string()).optional(),
    autostop: z.unknown().optional(),
  });
});

export const SkyTask = z.lazy(() =>
  strictObject({
    name: z.string().optional(),
    service: SkyService,
    resources: SkyResources.default({}),
    setup: z.string().optional(),
    run: z.string().optional(),
    envs: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
    secrets: z.record(z.string(), z.union([z.string(), z.number(), z.null()])).optional(),
    workdir: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
    file_mounts: z.record(z.string(), z.unknown()).optional(),
    num_nodes: z.number().int().min(1).optional(),
    config: z.record(z.string(), z.unknown()).optional(),
  }),
);
export type SkyTask = z.output<typeof SkyTask>;

/** Top-level keys that only SkyPilot YAMLs use, to recognise one that has no `type:`. */
export const SKYPILOT_TASK_KEYS = ['service', 'resources', 'setup', 'run', 'envs', 'secrets', 'workdir', 'file_mounts', 'num_nodes'];
/** Keys of SkyPilot's global config (~/.sky/config.yaml). */
export const SKYPILOT_GLOBAL_KEYS = ['serve', 'jobs', 'allowed_clouds', 'aws', 'gcp', 'azure', 'kubernetes', 'nvidia_gpus', 'admin_policy', 'api_server', 'docker', 'oci', 'ssh'];
