/**
 * Why a replica fits nowhere, as one sentence in the user's words (the plan and `dstack ps` show it), pure.
 * (Filters and availability are reported by filters.ts first.) Of the available instances, the first of these
 * that holds is reported, from the most to the least fundamental:
 *   1. no host has the hardware at all: "no host has 2 A100 GPUs of 80GB (most: 1 on gpus-0)", then memory, CPUs, disk;
 *   2. every host is fully taken: "all 2 hosts are busy";
 *   3. no host has it free now: "no host has 64GB of free memory (largest free: 31.2GB on my-fleet-1)";
 *   4. each resource is free somewhere but not on one host: "no single host has 2 GPUs, 64GB of memory and 4 CPUs free".
 */
import { GB } from '../model/units.js';
import { SIZE_SLACK, byName, diskFits, type InstanceLoad } from './capacity.js';
import { gpuMatches, gpusWanted, type GpuRequest, type HostGpu } from './gpu-match.js';
import type { PlacementRequest } from './types.js';

type Requirements = PlacementRequest['requirements'];

interface Dimension {
  need: number;
  /** Compare against `need * slack` (memory and disk, see capacity.ts). */
  slack: number;
  total(l: InstanceLoad): number;
  free(l: InstanceLoad): number;
  /** `64GB of memory` / `64GB of free memory`. */
  phrase(free: boolean): string;
  show(n: number): string;
  /** `largest` for sizes, `most` for counts. */
  most: string;
}

const gb = (bytes: number): string => `${Number((bytes / GB).toFixed(1))}GB`;
const num = (n: number): string => String(Number(n.toFixed(1)));

/** Matching GPUs of the best-served vendor among `gpus`. */
function matchingCount(gpus: readonly HostGpu[], spec: GpuRequest): number {
  const counts = new Map<string, number>();
  for (const g of gpus.filter((x) => gpuMatches(x, spec))) counts.set(g.vendor, (counts.get(g.vendor) ?? 0) + 1);
  return Math.max(0, ...counts.values());
}

/** `2 A100 GPUs of 80GB`, `1 free AMD GPU`, `2 GPUs with compute capability 8.0+`. */
function gpuPhrase(spec: GpuRequest, n: number, free: boolean): string {
  const names = spec.names ?? [];
  const kind = names.length > 0 ? `${names.join('/')} ` : spec.vendor !== undefined ? `${spec.vendor.toUpperCase()} ` : '';
  const memory = spec.memoryMiB?.min !== undefined ? ` of ${gb(spec.memoryMiB.min * 1024 ** 2)}` : '';
  const cc = spec.computeCapability !== undefined ? ` with compute capability ${spec.computeCapability}+` : '';
  return `${n} ${free ? 'free ' : ''}${kind}GPU${n === 1 ? '' : 's'}${memory}${cc}`;
}

function dimensions(req: Requirements): Dimension[] {
  const perBlock = (l: InstanceLoad, total: number) => (total * l.freeBlocks) / l.blocks;
  const dims: Dimension[] = [];
  const gpus = gpusWanted(req.gpu);
  if (gpus > 0) {
    dims.push({
      need: gpus, slack: 1, most: 'most', show: num, phrase: (free) => gpuPhrase(req.gpu, gpus, free),
      total: (l) => matchingCount(l.instance.gpus, req.gpu),
      free: (l) => Math.min(matchingCount(l.freeGpus, req.gpu), Math.floor(perBlock(l, l.instance.gpus.length))),
    });
  }
  const memory = req.memoryBytes.min;
  if (memory !== undefined && memory > 0) {
    dims.push({
      need: memory, slack: SIZE_SLACK, most: 'largest', show: gb, phrase: (free) => `${gb(memory)} of ${free ? 'free ' : ''}memory`,
      total: (l) => l.instance.memoryBytes, free: (l) => perBlock(l, l.instance.memoryBytes),
    });
  }
  const cpus = req.cpu.min;
  if (cpus !== undefined && cpus > 0) {
    dims.push({
      need: cpus, slack: 1, most: 'most', show: num, phrase: (free) => `${cpus} ${free ? 'free ' : ''}CPU${cpus === 1 ? '' : 's'}`,
      total: (l) => l.instance.cpus, free: (l) => perBlock(l, l.instance.cpus),
    });
  }
  return dims;
}

/** "no host has <phrase> (largest: <best> on <name>)" when no load has enough of `amount`; else undefined. */
function shortfall(dim: Dimension, loads: readonly InstanceLoad[], free: boolean): string | undefined {
  const amount = (l: InstanceLoad) => (free ? dim.free(l) : dim.total(l));
  const best = [...loads].sort((a, b) => amount(b) - amount(a) || byName(a.instance.name, b.instance.name))[0];
  if (best === undefined || amount(best) >= dim.need * dim.slack) return undefined;
  const hint = amount(best) > 0 ? ` (${dim.most}${free ? ' free' : ''}: ${dim.show(amount(best))} on ${best.instance.name})` : '';
  return `no host has ${dim.phrase(free)}${hint}`;
}

function diskShortfall(req: Requirements, loads: readonly InstanceLoad[]): string | undefined {
  const need = req.diskBytes.min;
  if (need === undefined || loads.some((l) => diskFits(l.instance, req))) return undefined;
  const best = [...loads].sort((a, b) => b.instance.diskBytes - a.instance.diskBytes || byName(a.instance.name, b.instance.name))[0];
  return `no host has ${gb(need)} of disk${best ? ` (largest: ${gb(best.instance.diskBytes)} on ${best.instance.name})` : ''}`;
}

function together(dims: readonly Dimension[]): string {
  const parts = dims.map((d) => d.phrase(false));
  if (parts.length < 2) return 'no single host has the requested resources free';
  return `no single host has ${parts.slice(0, -1).join(', ')} and ${parts.at(-1) ?? ''} free`;
}

/** The sentence for available instances (`loads`) none of which fits the request now. */
export function noFitReason(req: Requirements, loads: readonly InstanceLoad[]): string {
  const dims = dimensions(req);
  const missing = [...dims.map((d) => shortfall(d, loads, false)), diskShortfall(req, loads)].find((r) => r !== undefined);
  if (missing !== undefined) return missing;
  if (loads.every((l) => l.freeBlocks === 0)) {
    return loads.length === 1 ? `host \`${loads[0]?.instance.name ?? ''}\` is busy` : `all ${loads.length} hosts are busy`;
  }
  return dims.map((d) => shortfall(d, loads, true)).find((r) => r !== undefined) ?? together(dims);
}
