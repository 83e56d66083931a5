/**
 * Whether one GPU of a host satisfies a replica's `resources.gpu` filter, and how many GPUs a replica gets. Pure.
 *
 * - Names: agents report raw driver names (`NVIDIA A100-SXM4-80GB`, `NVIDIA H100 80GB HBM3`, `AMD Instinct MI300X`,
 *   `NVIDIA GeForce RTX 4090`). A requested name matches, case-insensitively, one word of that name or two adjacent
 *   words joined (`RTX4090`), the way dstack's `convert_nvidia_gpu_name` shortens them — never a substring, so `A10`
 *   does not match an A100.
 * - Compute capability: the GPU's must be ≥ the requested one (`8.0` ≥ `7.5`, compared as major then minor); a GPU
 *   that does not report one (AMD, older agents) does not match a request that sets it, since it cannot be checked.
 * - Count: a replica gets the minimum its spec allows (`count.min`; 1 when only a name/vendor/memory is given without
 *   a count), so several GPU replicas can share one split host. The maximum never refuses a host. This holds on a
 *   whole host too, where dstack would hand a `gpu: A100` (1..) job all 8 GPUs: here the container gets exactly the
 *   devices it asked for, and `gpu: A100:8` asks for all eight.
 */
import type { GpuInfo } from '../model/agent-api.js';
import type { Range } from '../runs/requirements.js';
import type { PlacementRequest } from './types.js';

export type HostGpu = GpuInfo & { computeCapability?: string };
export type GpuRequest = PlacementRequest['requirements']['gpu'];

const within = (value: number, range: Range): boolean =>
  (range.min === undefined || value >= range.min) && (range.max === undefined || value <= range.max);

/** What a host's GPU name can be asked for by: each word, each two adjacent words joined, the whole name. */
function nameAliases(name: string): Set<string> {
  const words = name.toLowerCase().split(/[\s\-_/]+/).filter((w) => w !== '');
  return new Set([...words, ...words.slice(1).map((w, i) => `${words[i] ?? ''}${w}`), words.join('')]);
}

/** `8.6` → [8, 6]; anything else → undefined. */
function capability(v: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)$/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export function capabilityAtLeast(have: string | undefined, want: string): boolean {
  const h = have === undefined ? undefined : capability(have);
  const w = capability(want);
  if (h === undefined || w === undefined) return false;
  return h[0] > w[0] || (h[0] === w[0] && h[1] >= w[1]);
}

export function gpuMatches(gpu: HostGpu, spec: GpuRequest): boolean {
  if (spec.vendor !== undefined && gpu.vendor !== spec.vendor.toLowerCase()) return false;
  if (spec.names !== undefined && spec.names.length > 0) {
    const aliases = nameAliases(gpu.name);
    if (!spec.names.some((n) => aliases.has(n.toLowerCase().replace(/[\s\-_]+/g, '')))) return false;
  }
  if (spec.memoryMiB !== undefined && !within(gpu.memoryMiB, spec.memoryMiB)) return false;
  if (spec.computeCapability !== undefined && !capabilityAtLeast(gpu.computeCapability, spec.computeCapability)) return false;
  return true;
}

/** How many GPUs the replica gets: `count.min`, or 1 when a GPU filter is given without a count. */
export function gpusWanted(spec: GpuRequest): number {
  if (spec.count.min !== undefined) return spec.count.min;
  const filtered = (spec.names?.length ?? 0) > 0 || spec.vendor !== undefined || spec.memoryMiB !== undefined || spec.computeCapability !== undefined;
  return filtered ? 1 : 0;
}

/**
 * Exactly `want` of `free` GPUs that match, lowest index first, all of one vendor (one container gets one vendor's
 * devices); undefined when there are not enough.
 */
export function pickGpus(free: readonly HostGpu[], spec: GpuRequest, want: number): HostGpu[] | undefined {
  if (want === 0) return [];
  const matching = free.filter((g) => gpuMatches(g, spec)).sort((a, b) => a.index - b.index);
  for (const vendor of new Set(matching.map((g) => g.vendor))) {
    const ofVendor = matching.filter((g) => g.vendor === vendor);
    if (ofVendor.length >= want) return ofVendor.slice(0, want);
  }
  return undefined;
}
