/**
 * What `GET /api/replicas/:id/metrics` of the agent answers (agent-api.ts lists the routes). A file of its own so
 * the control API's views (core/api.ts), which every CLI command loads, do not build the rest of the agent API.
 */
import { z } from 'zod';

/** One GPU assigned to a replica, as the host's SMI tool reports it right now. */
export const GpuMetrics = z.object({
  /** The host's index of the GPU (nvidia-smi `index`, amd-smi `gpu`). */
  index: z.number().int().nonnegative(),
  /** The id the replica was given (NVIDIA UUID, AMD render node). */
  id: z.string(),
  /** Each figure is absent when the tool cannot read it (`[N/A]`: utilisation of a GPU in MIG mode). */
  utilizationPercent: z.number().nonnegative().optional(),
  memoryUsedBytes: z.number().nonnegative().optional(),
  memoryTotalBytes: z.number().nonnegative().optional(),
});
export type GpuMetrics = z.infer<typeof GpuMetrics>;

/** A replica's resource use, sampled when asked for (nothing is collected in between). */
export const ReplicaMetrics = z.object({
  id: z.string(),
  runtime: z.enum(['docker', 'process']),
  /** ms since epoch of the (second) sample. */
  timestamp: z.number(),
  cpu: z.object({
    /** 100 = one core busy for the whole interval, as `docker stats` counts it (so it may exceed 100). */
    percent: z.number().nonnegative(),
    /** Cores the replica may use: its CPU limit, else the host's CPUs. percent / cores = share of its allowance. */
    cores: z.number().positive(),
  }),
  memory: z.object({
    /** Docker: usage less inactive file cache (as `docker stats`); processes: resident set of the group. */
    usedBytes: z.number().nonnegative(),
    /** Its memory limit, else the host's memory. */
    limitBytes: z.number().nonnegative(),
  }),
  gpus: z.array(GpuMetrics),
  /** Why GPUs assigned to the replica have no figures (the SMI tool is absent or failed). */
  gpuError: z.string().optional(),
});
export type ReplicaMetrics = z.infer<typeof ReplicaMetrics>;
