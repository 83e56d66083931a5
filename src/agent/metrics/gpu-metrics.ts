/**
 * Utilisation and memory of the GPUs assigned to a replica, read from the host's SMI tool when asked (the
 * queries dstack's runner makes, plus the index/id columns that tell which GPU a line is about).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { GpuMetrics, ReplicaSpec } from '../../core/model/agent-api.js';
import { amdRenderNode, execHost, type ExecFn } from '../host/gpu-detect.js';
import { amdSmiGpus } from '../host/gpu-parse.js';

const MIB = 1024 * 1024;
export const NVIDIA_METRICS_QUERY = ['--query-gpu=index,uuid,utilization.gpu,memory.used,memory.total', '--format=csv,noheader,nounits'];
export const AMD_METRICS_QUERY = ['monitor', '-vu', '--csv'];

/** A figure the tool could not read prints as `[N/A]`, `[Not Supported]`, `N/A`…: absent, never 0. */
function figure(raw: string | undefined): number | undefined {
  const v = (raw ?? '').trim().replace(/%$/, '').trim();
  if (v === '' || /^\[.*\]$/.test(v) || /^n\/a$/i.test(v)) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

const mib = (raw: string | undefined) => {
  const n = figure(raw);
  return n === undefined ? undefined : n * MIB;
};

/** Drops absent figures, so the object matches the schema's optional fields under exactOptionalPropertyTypes. */
function gpu(index: number, id: string, util: number | undefined, used: number | undefined, total: number | undefined): GpuMetrics {
  return {
    index, id,
    ...(util === undefined ? {} : { utilizationPercent: util }),
    ...(used === undefined ? {} : { memoryUsedBytes: used }),
    ...(total === undefined ? {} : { memoryTotalBytes: total }),
  };
}

/** Parses `nvidia-smi` with NVIDIA_METRICS_QUERY: `index, uuid, util %, used MiB, total MiB` per GPU. */
export function parseNvidiaSmiMetrics(csv: string): GpuMetrics[] {
  return csv
    .split(/\r?\n/)
    .filter((l) => l.trim())
    .map((line) => {
      const fields = line.split(',').map((f) => f.trim());
      if (fields.length !== 5) throw new Error(`nvidia-smi: expected 5 CSV fields, got ${fields.length}: ${line}`);
      const [index, uuid = '', util, used, total] = fields;
      return gpu(Number(index) || 0, uuid, figure(util), mib(used), mib(total));
    });
}

/**
 * Parses `amd-smi monitor -vu --csv`, whose columns moved between ROCm releases (6.3: `gpu,gfx,gfx_clock,vram_used,
 * vram_total`; 6.4: `gpu,gfx_clk,gfx,vram_used,vram_free,vram_total,vram_percent`): columns are found by header name.
 * `id` is filled by the caller (the render node), since the tool only numbers GPUs.
 */
export function parseAmdSmiMonitor(csv: string): GpuMetrics[] {
  const [head = '', ...lines] = csv.trim().split(/\r?\n/);
  const columns = head.split(',').map((h) => h.trim());
  const at = (name: string) => columns.indexOf(name);
  if (at('gpu') < 0 || at('gfx') < 0 || at('vram_used') < 0) throw new Error(`amd-smi monitor: missing gpu/gfx/vram_used columns in "${head}"`);
  return lines
    .filter((l) => l.trim())
    .map((line) => {
      const f = line.split(',');
      const col = (name: string) => (at(name) < 0 ? undefined : f[at(name)]);
      const index = Number(col('gpu'));
      return gpu(Number.isInteger(index) ? index : 0, '', figure(col('gfx')), mib(col('vram_used')), mib(col('vram_total')));
    });
}

export interface GpuMetricsOptions {
  exec?: ExecFn;
  /** Filesystem root holding /dev (tests point it at a fixture tree). */
  root?: string;
}

export interface GpuReading {
  gpus: GpuMetrics[];
  error?: string;
}

/** The assigned GPUs' figures; a missing or failing tool yields none and says why (the replica's CPU and memory still count). */
export async function readGpuMetrics(assigned: ReplicaSpec['gpus'], options: GpuMetricsOptions = {}): Promise<GpuReading> {
  if (!assigned) return { gpus: [] };
  const exec = options.exec ?? execHost;
  const root = options.root ?? '/';
  const ids = new Set(assigned.ids);
  try {
    switch (assigned.vendor) {
      case 'nvidia': {
        const all = parseNvidiaSmiMetrics(await exec(nvidiaSmi(root), NVIDIA_METRICS_QUERY));
        // Ids are UUIDs as the daemon assigns them; an index (as in CUDA_VISIBLE_DEVICES) is accepted too.
        return { gpus: all.filter((g) => ids.has(g.id) || ids.has(String(g.index))) };
      }
      case 'amd': {
        const nodes = await amdRenderNodes(exec, root);
        const all = parseAmdSmiMonitor(await exec('amd-smi', AMD_METRICS_QUERY));
        return { gpus: all.map((g) => ({ ...g, id: nodes.get(g.index) ?? '' })).filter((g) => ids.has(g.id)) };
      }
      default:
        return { gpus: [], error: `GPU metrics for ${assigned.vendor} GPUs are not supported yet` };
    }
  } catch (e) {
    return { gpus: [], error: describeExecError(e) };
  }
}

/** WSL ships nvidia-smi outside PATH and has no /dev/nvidiactl (as in gpu-detect.ts). */
function nvidiaSmi(root: string): string {
  const wsl = path.join(root, '/usr/lib/wsl/lib/nvidia-smi');
  return !existsSync(path.join(root, '/dev/nvidiactl')) && existsSync(wsl) ? wsl : 'nvidia-smi';
}

/** amd-smi numbers GPUs; replicas are given render nodes. `static --bus` links the two through the PCI address. */
async function amdRenderNodes(exec: ExecFn, root: string): Promise<Map<number, string>> {
  const nodes = new Map<number, string>();
  amdSmiGpus(await exec('amd-smi', ['static', '--json', '--bus'])).forEach((g, i) => {
    const node = g.bus?.bdf ? amdRenderNode(root, g.bus.bdf) : undefined;
    if (node) nodes.set(g.gpu ?? i, node);
  });
  return nodes;
}

/** A tool that is not installed is named as such (ENOENT from execFile), not as a bare errno. */
function describeExecError(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { path?: string; cmd?: string };
  if (err.code === 'ENOENT') return `${err.path ?? 'the GPU tool'} is not installed on this host`;
  return `GPU metrics failed: ${err.message ?? String(e)}`;
}
