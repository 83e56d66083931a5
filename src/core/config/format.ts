/**
 * dstack's pretty forms: `cpu=2.. mem=8GB.. disk=100GB.. gpu=0..`, `gpu=A100:80GB:2`, durations `5m`, `3d`.
 */
import type { GpuSpec, Range, ResourcesSpec } from '../model/index.js';
import { GB } from '../model/units.js';

export function formatMemory(bytes: number): string {
  if (bytes < GB && bytes % 1024 ** 2 === 0) return `${bytes / 1024 ** 2}MB`;
  return `${Number((bytes / GB).toFixed(3))}GB`;
}

export function formatRange(r: Range, unit: (n: number) => string = String, openMin = false): string {
  if (r.max === undefined) return `${unit(r.min)}..`;
  if (r.min === r.max) return unit(r.min);
  return openMin && r.min === 0 ? `..${unit(r.max)}` : `${unit(r.min)}..${unit(r.max)}`;
}

const UNITS: [string, number][] = [['w', 604_800], ['d', 86_400], ['h', 3600], ['m', 60]];

/** `300` → `5m`, `90` → `90s`, `'off'` → `off`. */
export function formatDuration(seconds: number | 'off'): string {
  if (seconds === 'off' || seconds < 0) return 'off';
  if (seconds === 0) return '0s';
  const unit = UNITS.find(([, n]) => seconds % n === 0);
  return unit ? `${seconds / unit[1]}${unit[0]}` : `${seconds}s`;
}

export function formatGpu(gpu: GpuSpec): string {
  const parts: string[] = [];
  if (gpu.name && gpu.name.length > 0) parts.push(gpu.name.join(','));
  else if (gpu.vendor && (gpu.count.max ?? 1) > 0) parts.push(gpu.vendor);
  if (gpu.memory) parts.push(formatRange(gpu.memory, formatMemory, true));
  parts.push(formatRange(gpu.count));
  const extra = [
    gpu.total_memory ? `total ${formatRange(gpu.total_memory, formatMemory, true)}` : '',
    gpu.compute_capability ? `cc ${gpu.compute_capability}` : '',
  ].filter((s) => s !== '');
  return parts.join(':') + (extra.length > 0 ? ` (${extra.join(', ')})` : '');
}

export function formatResources(spec: ResourcesSpec): string {
  const cpu = `${spec.cpu.arch === 'arm' ? 'arm:' : ''}${formatRange(spec.cpu.count)}`;
  return [
    `cpu=${cpu}`,
    `mem=${formatRange(spec.memory, formatMemory, true)}`,
    ...(spec.shm_size === undefined ? [] : [`shm=${formatMemory(spec.shm_size)}`]),
    `disk=${formatRange(spec.disk.size, formatMemory, true)}`,
    `gpu=${formatGpu(spec.gpu)}`,
  ].join(' ');
}
