/**
 * The offers table as dstack prints it (reference/dstack-notes.md §6.1): `#  BACKEND  RESOURCES  INSTANCE TYPE
 * PRICE  <availability>`, rows after the first dimmed, a `...` row and "Shown N of M offers, $X max" when cut.
 * The local backend reads `local (docker)` or `local (processes)` so a user sees where replicas will run.
 */
import type { CatalogInfo, Offer, Resources } from '../core/api.js';
import type { Painter } from './colors.js';
import { renderTable, type Column, type Row } from './table.js';

const GiB = 1024 ** 3;

function archLabel(arch: string | undefined): string {
  if (!arch) return '';
  if (/^(x86_64|amd64|x64|x86)$/i.test(arch)) return 'x86:';
  if (/^(arm64|aarch64|arm)$/i.test(arch)) return 'arm:';
  return `${arch}:`;
}

const round = (n: number) => (n >= 10 ? Math.round(n) : Math.round(n * 10) / 10);

/** `cpu=x86:2 mem=24GB disk=100GB gpu=A100:80GB:2` (GB here are GiB, as dstack prints them). */
export function formatResources(r: Resources, spot = false): string {
  const parts = [`cpu=${archLabel(r.arch)}${round(r.cpus)}`, `mem=${round(r.memoryBytes / GiB)}GB`, `disk=${round(r.diskBytes / GiB)}GB`];
  const gpu = formatGpus(r);
  if (gpu !== '-') parts.push(gpu);
  return parts.join(' ') + (spot ? ' (spot)' : '');
}

/** `gpu=A100:80GB:2`, or `-` without GPUs (dstack's GPU column). */
export function formatGpus(r: Resources | undefined): string {
  const first = r?.gpus[0];
  if (!r || !first) return '-';
  return `gpu=${first.name}:${Math.round(first.memoryMiB / 1024)}GB:${r.gpus.length}`;
}

export function formatBackend(backend: string, region: string | undefined, runtime?: 'docker' | 'process'): string {
  if (backend === 'local') return runtime ? `local (${runtime === 'docker' ? 'docker' : 'processes'})` : 'local';
  if (backend === 'remote' || backend === 'ssh') return 'ssh (remote)';
  return region ? `${backend} (${region})` : backend;
}

export function formatPrice(price: number | undefined): string {
  if (price === undefined) return '-';
  return `$${Number(price.toFixed(4))}`;
}

export interface OffersTableOptions {
  /** How many rows to show (dstack's --max-offers, default 3). */
  max?: number;
  /** Offers that exist in all, when `offers` is already a prefix of them. */
  total?: number;
  /** The highest price of all of them (dstack's "$X max"), when `offers` is a prefix; else taken from `offers`. */
  maxPrice?: number;
  /** Where cloud prices come from: a `Prices of …` line under the table. */
  catalogs?: readonly CatalogInfo[];
  painter?: Painter;
  width?: number;
}

// Offers of fleet hosts (SSH fleets) also name the fleet and the instance, so a user sees which host a run would get.
const columns = (fleets: boolean): Column[] => [
  { header: '#', shrink: 0 },
  { header: 'BACKEND' },
  ...(fleets ? [{ header: 'FLEET' }, { header: 'INSTANCE' }] : []),
  { header: 'RESOURCES', shrink: 3 },
  { header: 'INSTANCE TYPE' },
  { header: 'PRICE', shrink: 0 },
  { header: '' },
];

export function renderOffersTable(offers: readonly Offer[], opts: OffersTableOptions = {}): string {
  const max = opts.max ?? 3;
  const total = Math.max(opts.total ?? offers.length, offers.length);
  const shown = offers.slice(0, max);
  const fleets = shown.some((o) => o.fleet !== undefined);
  const rows: Row[] = shown.map((o, i) => ({
    dim: i > 0,
    cells: [
      String(i + 1),
      formatBackend(o.backend, o.region, o.runtime),
      ...(fleets ? [o.fleet ?? '-', o.instance ?? '-'] : []),
      formatResources(o.resources, o.spot),
      o.instanceType,
      formatPrice(o.price),
      o.availability,
    ],
  }));
  if (total > shown.length) rows.push({ dim: true, cells: ['...'] });
  const lines = [renderTable(columns(fleets), rows, { ...(opts.painter ? { painter: opts.painter } : {}), ...(opts.width ? { width: opts.width } : {}) })];
  const footer: string[] = [];
  if (total > shown.length) {
    const maxPrice = opts.maxPrice ?? offers.reduce((max, o) => Math.max(max, o.price), 0);
    footer.push(`Shown ${shown.length} of ${total} offers, ${formatPrice(maxPrice)} max`);
  }
  if (opts.catalogs && opts.catalogs.length > 0) footer.push(pricesLine(opts.catalogs));
  if (footer.length > 0) lines.push('', ...footer);
  return lines.join('\n');
}

/** `Prices of 2026-12-05 (aws, shipped catalog)`: which day the cloud prices are from, per catalog. */
export function pricesLine(catalogs: readonly CatalogInfo[]): string {
  const parts = catalogs.map((c) => `${c.date} (${c.provider}, ${c.source === 'shipped' ? 'shipped catalog' : c.source})`);
  return `Prices of ${parts.join(', ')}`;
}
