/**
 * `resources` (dstack `core/models/resources.py`). Defaults: `cpu: 2..`, `memory: 8GB..`, `disk: 100GB..`,
 * `gpu: 0..` (any) — pretty form `cpu=2.. mem=8GB.. disk=100GB.. gpu=0..`.
 */
import { z } from 'zod';
import { DEFAULT_GPU, Gpu, type GpuSpec } from './gpu.js';
import { byType, strictObject } from './strict.js';
import { CountRange, GB, Memory, MemoryRange, parseCount, parseRange, parsed, type Range } from './units.js';

export type CpuArch = 'x86' | 'arm';
export interface CpuSpec {
  arch?: CpuArch;
  count: Range;
}
export interface DiskSpec {
  size: Range;
}
export interface ResourcesSpec {
  cpu: CpuSpec;
  /** RAM in bytes. */
  memory: Range;
  /** Shared memory (`/dev/shm`) in bytes. */
  shm_size?: number;
  gpu: GpuSpec;
  disk: DiskSpec;
}

const ARCHES: Record<string, CpuArch> = { x86: 'x86', x86_64: 'x86', amd64: 'x86', arm: 'arm', arm64: 'arm', aarch64: 'arm' };

function parseCpuString(s: string) {
  const parts = s.split(':');
  if (parts.length > 2) return { ok: false as const, message: `invalid CPU spec \`${s}\`; expected \`count\` or \`arch:count\`` };
  const [first = '', second] = parts;
  const arch = ARCHES[first.trim().toLowerCase()];
  if (second !== undefined && arch === undefined) {
    return { ok: false as const, message: `unknown CPU architecture \`${first}\`; expected x86 or arm` };
  }
  const count = parseRange(second ?? first, parseCount, 'CPU count');
  if (!count.ok) return count;
  return { ok: true as const, value: arch === undefined ? { count: count.value } : { arch, count: count.value } };
}

const CpuObject = strictObject({
  arch: z.string().optional().describe('The CPU architecture: `x86` or `arm`.'),
  count: CountRange.default({ min: 2 }).describe('The number of CPU cores, a number or a range.'),
}).transform((o, ctx): CpuSpec => {
  if (o.arch === undefined) return { count: o.count };
  const arch = ARCHES[o.arch.toLowerCase()];
  if (arch === undefined) ctx.addIssue({ code: 'custom', message: `unknown CPU architecture \`${o.arch}\`; expected x86 or arm`, path: ['arch'] });
  return { arch: arch ?? 'x86', count: o.count };
});

export const Cpu = byType({
  number: z.number().int().nonnegative().transform((n): CpuSpec => ({ count: { min: n, max: n } })),
  string: parsed((v) => parseCpuString(String(v))),
  object: CpuObject,
}, 'a CPU count, a range like `2..8`, `arch:count` like `arm:8`, or an object with `arch` and `count`');

const DiskObject = strictObject({
  size: MemoryRange.describe('The disk size. Can be a range (e.g. `100GB..` or `100GB..200GB`).'),
});
export const Disk = byType({
  number: MemoryRange.transform((size): DiskSpec => ({ size })),
  string: MemoryRange.transform((size): DiskSpec => ({ size })),
  object: DiskObject,
}, 'a disk size like `100GB`, a range like `100GB..`, or an object with `size`');

export const DEFAULT_RESOURCES: ResourcesSpec = {
  cpu: { count: { min: 2 } },
  memory: { min: 8 * GB },
  gpu: DEFAULT_GPU,
  disk: { size: { min: 100 * GB } },
};

/** `resources` without the top-level default: a replica group that omits it inherits the service's. */
export const ResourcesObject = strictObject({
  cpu: Cpu.default(DEFAULT_RESOURCES.cpu).describe('The number of CPU cores (e.g. `4`, `2..`, `arm:8`). Defaults to `2..`.'),
  memory: MemoryRange.default(DEFAULT_RESOURCES.memory).describe('The RAM size (e.g. `8GB`), or a range. Defaults to `8GB..`.'),
  shm_size: Memory.optional().describe('The size of shared memory (e.g. `8GB`), for parallel communicating processes such as PyTorch dataloaders.'),
  gpu: Gpu.default(DEFAULT_GPU).describe('The GPU requirements: a count, a string (e.g. `A100`, `80GB:2`, `A100:40GB:2`) or an object. Defaults to `0..`.'),
  disk: Disk.default(DEFAULT_RESOURCES.disk).describe('The disk size (e.g. `200GB`), a range, or `{size}`. Defaults to `100GB..`.'),
})
  .transform((r): ResourcesSpec => (r.shm_size === undefined ? { cpu: r.cpu, memory: r.memory, gpu: r.gpu, disk: r.disk } : r as ResourcesSpec));

export const Resources = ResourcesObject.default(DEFAULT_RESOURCES).describe('The resources requirements to run the configuration.');
