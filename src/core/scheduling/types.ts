/**
 * The scheduler's inputs and outputs (pure; src/core/scheduling): which instance a replica goes to, and which of
 * its GPUs it gets. The daemon builds `InstanceCapacity` from fleet state + agent host info, and `Allocation`s from
 * the live replicas it already placed.
 */
import type { GpuInfo } from '../model/agent-api.js';
import type { Requirements } from '../runs/requirements.js';

export interface InstanceCapacity {
  /** Instance name in state (`local`, `<fleet>-<i>`). */
  name: string;
  fleet?: string;
  /** `local` | `ssh` | a cloud backend. */
  backend: string;
  instanceType?: string;
  /** Cloud region; offers show `local` for the local backend and `remote` (as dstack) for SSH hosts when absent. */
  region?: string;
  /** Reachable, agent current, not terminating: only these take new replicas. */
  available: boolean;
  cpus: number;
  memoryBytes: number;
  diskBytes: number;
  gpus: (GpuInfo & { computeCapability?: string })[];
  /** Equal shares of cpus/memory/gpus (1 = whole host). */
  blocks: number;
}

/** What one live replica already holds on an instance. */
export interface Allocation {
  instance: string;
  runName: string;
  replicaId: string;
  blocks: number;
  /** GPU ids (GpuInfo.id) given to the replica. */
  gpuIds: string[];
}

export interface PlacementRequest {
  runName: string;
  requirements: Requirements & { gpu: Requirements['gpu'] & { computeCapability?: string } };
  /** `fleets:`, `backends:`, `instance_types:` of the configuration; absent = any. */
  fleets?: string[];
  backends?: string[];
  instanceTypes?: string[];
}

export type Placement =
  | {
      ok: true;
      instance: string;
      /** Blocks taken on the instance (whole host = all its blocks). */
      blocks: number;
      /** Exactly these devices go to the container (minimum count the spec allows). */
      gpus?: { vendor: GpuInfo['vendor']; ids: string[] };
      /** Set when the replica gets a share of the host (blocks > 1): container limits. */
      cpuLimit?: number;
      memoryLimitBytes?: number;
    }
  /** No instance fits; `reason` names what is missing, e.g. `no host has 2 free GPUs of 80GB`. */
  | { ok: false; reason: string };
