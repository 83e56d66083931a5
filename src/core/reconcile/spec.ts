/**
 * What the agent runs for one replica: its replica group's spec template (a run without groups has one), its id and
 * number, and the limits its placement decided when it shares a fleet host (blocks).
 */
import type { ReplicaSpecInput } from '../model/agent-api.js';
import type { ReplicaRecord, RunRecord } from '../state/schema.js';

export type PlacementLimits = Partial<Pick<ReplicaSpecInput, 'gpus' | 'cpuLimit' | 'memoryLimitBytes'>>;

export function replicaSpec(run: RunRecord, replica: ReplicaRecord, limits: PlacementLimits = {}): ReplicaSpecInput {
  const template = (replica.group !== undefined ? run.specTemplates?.[replica.group] : undefined) ?? run.specTemplate;
  const spec: ReplicaSpecInput = { ...template, id: replica.id, replicaNum: replica.num };
  if (limits.gpus) spec.gpus = limits.gpus;
  if (limits.cpuLimit !== undefined) spec.cpuLimit = limits.cpuLimit;
  // The agent API takes whole bytes; a share of a host's memory need not be one.
  if (limits.memoryLimitBytes !== undefined) spec.memoryLimitBytes = Math.floor(limits.memoryLimitBytes);
  return spec;
}
