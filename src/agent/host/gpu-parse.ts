import type { GpuInfo } from '../../core/model/agent-api.js';

/** Placeholders SMI tools print for a field they cannot read (dstack's normalizeDriverVersion). */
const PLACEHOLDERS = new Set(['N/A', '[N/A]', 'UNKNOWN', '[UNKNOWN]', '[NOT SUPPORTED]', '[NOT AVAILABLE]']);

const driverOf = (value: unknown): string | undefined => {
  const v = typeof value === 'string' ? value.trim() : '';
  return v && !PLACEHOLDERS.has(v.toUpperCase()) ? v : undefined;
};

/**
 * Parses `nvidia-smi --query-gpu=name,memory.total,uuid,driver_version --format=csv,noheader,nounits`:
 * one GPU per line, four fields, memory in MiB, id = the `GPU-…` UUID.
 */
export function parseNvidiaSmi(csv: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const line of csv.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length !== 4) throw new Error(`nvidia-smi: expected 4 CSV fields, got ${fields.length}: ${line}`);
    const [name = '', memory = '', uuid = '', driver] = fields;
    const memoryMiB = Number.parseInt(memory, 10);
    const d = driverOf(driver);
    gpus.push({
      vendor: 'nvidia', name, memoryMiB: Number.isNaN(memoryMiB) ? 0 : memoryMiB, id: uuid, index: gpus.length,
      ...(d ? { driver: d } : {}),
    });
  }
  return gpus;
}

/** Parses `hl-smi --query-aip=name,memory.total,index --format=csv,noheader,nounits` (Intel Gaudi). */
export function parseHlSmi(csv: string): GpuInfo[] {
  return csv
    .split(/\r?\n/)
    .filter((l) => l.trim())
    .map((line, i) => {
      const [name = '', memory = '', index = String(i)] = line.split(',').map((f) => f.trim());
      return { vendor: 'intel' as const, name, memoryMiB: Number.parseInt(memory, 10) || 0, id: index, index: Number(index) || i };
    });
}

/** One GPU of `amd-smi static --json --asic --vram --bus [--driver]` (only the fields used). */
export interface AmdSmiGpu {
  gpu?: number;
  asic?: { market_name?: string };
  vram?: { size?: { value?: number | string; unit?: string } | number | string };
  bus?: { bdf?: string };
  driver?: { version?: string; driver_version?: string; name?: string };
}

/** ROCm 6 prints a bare array; ROCm 7 wraps it as `{"gpu_data": [...]}`. Both are accepted. */
export function amdSmiGpus(json: string): AmdSmiGpu[] {
  const data = JSON.parse(json) as unknown;
  if (Array.isArray(data)) return data as AmdSmiGpu[];
  if (data && typeof data === 'object' && Array.isArray((data as { gpu_data?: unknown }).gpu_data)) {
    return (data as { gpu_data: AmdSmiGpu[] }).gpu_data;
  }
  throw new Error('amd-smi: expected a JSON array or an object with gpu_data');
}

/** VRAM in MiB; amd-smi reports `{value, unit: "MB"}` (MiB in practice); a GB unit is scaled. */
export function amdVramMiB(vram: AmdSmiGpu['vram']): number {
  const size = typeof vram === 'object' && vram !== null ? vram.size : vram;
  const raw = typeof size === 'object' && size !== null ? size.value : size;
  const unit = typeof size === 'object' && size !== null ? (size.unit ?? 'MB') : 'MB';
  const value = typeof raw === 'number' ? raw : Number.parseFloat(String(raw ?? ''));
  if (!Number.isFinite(value)) return 0;
  return Math.round(/^G/i.test(unit) ? value * 1024 : value);
}

/**
 * Builds AMD GpuInfo; `renderNode(bdf)` resolves the PCI address to `/dev/dri/renderD<N>` (the id Docker
 * needs). GPUs whose render node cannot be resolved are left out, as dstack's shim does.
 */
export function parseAmdSmi(json: string, renderNode: (bdf: string) => string | undefined): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const g of amdSmiGpus(json)) {
    const node = g.bus?.bdf ? renderNode(g.bus.bdf) : undefined;
    if (!node) continue;
    const d = driverOf(g.driver?.version) ?? driverOf(g.driver?.driver_version);
    gpus.push({
      vendor: 'amd', name: g.asic?.market_name ?? 'AMD GPU', memoryMiB: amdVramMiB(g.vram), id: node, index: gpus.length,
      ...(d ? { driver: d } : {}),
    });
  }
  return gpus;
}
