/** The resources a run asks for, as plain numbers for backends' offer matching (from the normalized `resources`). */
import type { ResourcesSpec } from '../model/resources.js';

export interface Range {
  min?: number;
  max?: number;
}

export interface Requirements {
  cpu: Range;
  memoryBytes: Range;
  diskBytes: Range;
  gpu: { count: Range; names?: string[]; vendor?: string; memoryMiB?: Range };
}

const MiB = 1024 * 1024;
const range = (r: { min?: number | undefined; max?: number | undefined }): Range => ({
  ...(r.min !== undefined ? { min: r.min } : {}),
  ...(r.max !== undefined ? { max: r.max } : {}),
});

export function requirementsOf(resources: ResourcesSpec): Requirements {
  const gpu = resources.gpu;
  return {
    cpu: range(resources.cpu.count),
    memoryBytes: range(resources.memory),
    diskBytes: range(resources.disk.size),
    gpu: {
      count: range(gpu.count),
      ...(gpu.name ? { names: gpu.name } : {}),
      ...(gpu.vendor ? { vendor: gpu.vendor } : {}),
      ...(gpu.memory ? { memoryMiB: range({ min: gpu.memory.min / MiB, max: gpu.memory.max === undefined ? undefined : gpu.memory.max / MiB }) } : {}),
    },
  };
}

/** No constraints at all (`dstack offer` without flags). */
export const ANY_REQUIREMENTS: Requirements = { cpu: {}, memoryBytes: {}, diskBytes: {}, gpu: { count: {} } };
