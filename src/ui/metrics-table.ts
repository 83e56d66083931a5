/**
 * The table of `dstack metrics` (dstack's, as its CLI printed current figures): NAME, STATUS, CPU, MEMORY, GPU. A run
 * with one replica is one row; otherwise a run row and indented `replica=N` (`group=G replica=N`) rows. Each GPU after
 * the first gets a row of its own under its replica. CPU is a percentage of the replica's CPU allowance (its limit,
 * else the host's CPUs), as dstack divides by the job's CPUs; MEMORY is used/limit. ERROR appears only when a
 * replica's host did not answer or its GPU tool failed.
 */
import type { ReplicaMetricsView, RunMetrics } from '../core/api.js';
import type { GpuMetrics, ReplicaMetrics } from '../core/model/agent-api.js';
import { statusTone, type Painter } from './colors.js';
import { renderTable, type Cell, type Column, type Row } from './table.js';

export interface MetricsTableOptions {
  painter?: Painter;
  width?: number;
}

/** dstack's `_format_memory(bytes, 2)`: MB below 1 GiB, else GB, up to two decimals without trailing zeros. */
export function formatMemory(bytes: number, decimals = 2): string {
  const mb = bytes / 1024 / 1024;
  const [value, unit] = mb >= 1024 ? [mb / 1024, 'GB'] : [mb, 'MB'];
  if (decimals === 0) return `${Math.round(value)}${unit}`;
  return `${value.toFixed(decimals).replace(/\.?0+$/, '')}${unit}`;
}

/** Share of the replica's CPU allowance, rounded as dstack prints it (`{:.0f}%`). */
export const formatCpu = (cpu: ReplicaMetrics['cpu']): string => `${Math.round(cpu.percent / cpu.cores)}%`;

export const formatMemoryUsage = (m: ReplicaMetrics['memory']): string => `${formatMemory(m.usedBytes)}/${formatMemory(m.limitBytes)}`;

/** `gpu=0 mem=71GB/80GB util=93%`, numbered as the replica sees its GPUs; a figure the tool could not read is `-`. */
export function formatGpu(g: GpuMetrics, n: number): string {
  const used = g.memoryUsedBytes === undefined ? '-' : formatMemory(g.memoryUsedBytes);
  const mem = g.memoryTotalBytes === undefined ? used : `${used}/${formatMemory(g.memoryTotalBytes)}`;
  return `gpu=${n} mem=${mem} util=${g.utilizationPercent === undefined ? '-' : `${Math.round(g.utilizationPercent)}%`}`;
}

const status = (text: string): Cell => ({ text, ...(statusTone(text) ? { tone: statusTone(text)! } : {}) });
const problem = (r: ReplicaMetricsView) => r.error ?? r.metrics?.gpuError ?? '';
const label = (r: ReplicaMetricsView, groups: boolean) => (groups ? `  group=${r.group ?? ''} replica=${r.num}` : `  replica=${r.num}`);

export function metricsTableModel(m: RunMetrics): { columns: Column[]; rows: Row[] } {
  const withErrors = m.replicas.some((r) => problem(r) !== '');
  const columns: Column[] = [
    { header: 'NAME' }, { header: 'STATUS' }, { header: 'CPU', align: 'right', shrink: 0 }, { header: 'MEMORY', shrink: 0 }, { header: 'GPU' },
    ...(withErrors ? [{ header: 'ERROR', shrink: 4 }] : []),
  ];
  const replicaRows = (r: ReplicaMetricsView, name: string, statusText: string): Row[] => {
    const x = r.metrics;
    const gpus = x?.gpus ?? [];
    const first: Row = {
      cells: [
        name, status(statusText), x ? formatCpu(x.cpu) : '-', x ? formatMemoryUsage(x.memory) : '-', gpus[0] ? formatGpu(gpus[0], 0) : '-',
        ...(withErrors ? [{ text: problem(r), tone: 'red' as const }] : []),
      ],
    };
    return [first, ...gpus.slice(1).map((g, i) => ({ cells: ['', '', '', '', formatGpu(g, i + 1)] }))];
  };
  const [only] = m.replicas;
  if (m.replicas.length === 1 && only) return { columns, rows: replicaRows(only, m.run, m.status) };
  const groups = m.replicas.some((r) => r.group !== undefined);
  const runRow: Row = { cells: [m.run, status(m.status)] };
  return { columns, rows: [runRow, ...m.replicas.flatMap((r) => replicaRows(r, label(r, groups), r.status))] };
}

export function renderMetricsTable(m: RunMetrics, opts: MetricsTableOptions = {}): string {
  const { columns, rows } = metricsTableModel(m);
  return renderTable(columns, rows, { ...(opts.painter ? { painter: opts.painter } : {}), ...(opts.width ? { width: opts.width } : {}) });
}

/** Whether any replica runs: a run without one has nothing to measure. */
export const hasRunningReplica = (m: RunMetrics): boolean => m.replicas.some((r) => r.status === 'running');
