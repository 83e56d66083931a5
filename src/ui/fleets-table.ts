/**
 * The fleets table of `dstack fleet` and of the end of a fleet apply, as dstack prints it: `FLEET  INSTANCE
 * BACKEND  RESOURCES  PRICE  STATUS  CREATED`, one row per instance with the fleet name on its first row only.
 * Blocks show as `1/4 busy`, a lost host as `idle (unreachable)`; `-v` adds HOST and ERROR.
 */
import type { FleetView, InstanceView } from '../core/api.js';
import { statusTone, type Painter } from './colors.js';
import { formatBackend, formatPrice, formatResources } from './offers-table.js';
import { renderTable, type Cell, type Column, type Row } from './table.js';
import { formatAgo } from './time.js';

export interface FleetsTableOptions {
  verbose?: boolean;
  /** ms since epoch; CREATED is relative to it. */
  now: number;
  painter?: Painter;
  width?: number;
}

const OWN_CAPACITY = new Set(['local', 'remote', 'ssh']);

/** `0` for `my-fleet-0` (dstack's instance number); other names as they are. */
export function instanceNumber(i: InstanceView): string {
  const prefix = `${i.fleet}-`;
  const rest = i.name.startsWith(prefix) ? i.name.slice(prefix.length) : '';
  return /^\d+$/.test(rest) ? rest : i.name;
}

/** `idle`, `1/4 busy` for a host split into blocks, with ` (unreachable)` when the host stopped answering. */
export function instanceStatus(i: InstanceView): string {
  const settled = i.status === 'idle' || i.status === 'busy';
  const blocks = settled && i.blocks !== undefined && i.blocks > 1 ? `${i.busyBlocks ?? 0}/${i.blocks} busy` : i.status;
  return settled && i.unreachable ? `${blocks} (unreachable)` : blocks;
}

const statusCell = (text: string, tone: string): Cell => ({ text, ...(statusTone(tone) ? { tone: statusTone(tone)! } : {}) });

function columns(verbose: boolean): Column[] {
  return [
    { header: 'FLEET' },
    { header: 'INSTANCE' },
    ...(verbose ? [{ header: 'HOST' }] : []),
    { header: 'BACKEND' },
    { header: 'RESOURCES', shrink: 3 },
    { header: 'PRICE', shrink: 0 },
    { header: 'STATUS' },
    { header: 'CREATED' },
    ...(verbose ? [{ header: 'ERROR', shrink: 4 }] : []),
  ];
}

function instanceRow(fleet: FleetView, i: InstanceView, first: boolean, opts: FleetsTableOptions): Row {
  const verbose = opts.verbose ?? false;
  // Resources are known once the agent reported host info; before that dstack prints `-`.
  const resources = i.resources && i.status !== 'pending' && i.status !== 'provisioning' ? formatResources(i.resources) : '-';
  const tone = i.unreachable && (i.status === 'idle' || i.status === 'busy') ? 'unreachable' : i.status;
  return {
    dim: i.status === 'terminated',
    cells: [
      first ? fleet.name : '',
      instanceNumber(i),
      ...(verbose ? [i.host] : []),
      formatBackend(i.backend, undefined),
      resources,
      OWN_CAPACITY.has(i.backend) ? formatPrice(0) : '-',
      statusCell(instanceStatus(i), tone),
      formatAgo(i.createdAt, opts.now),
      ...(verbose ? [i.error ?? ''] : []),
    ],
  };
}

function fleetRows(fleet: FleetView, opts: FleetsTableOptions): Row[] {
  if (fleet.instances.length > 0) return fleet.instances.map((i, n) => instanceRow(fleet, i, n === 0, opts));
  const verbose = opts.verbose ?? false;
  const cells = [fleet.name, '-', ...(verbose ? ['-'] : []), '-', '-', '-', statusCell(fleet.status, fleet.status), formatAgo(fleet.createdAt, opts.now), ...(verbose ? [''] : [])];
  return [{ dim: fleet.status === 'terminated', cells }];
}

/** Columns and rows, for the plain renderer below and the Ink `<Table>`. */
export function fleetsTableModel(fleets: readonly FleetView[], opts: FleetsTableOptions): { columns: Column[]; rows: Row[] } {
  return { columns: columns(opts.verbose ?? false), rows: fleets.flatMap((f) => fleetRows(f, opts)) };
}

export function renderFleetsTable(fleets: readonly FleetView[], opts: FleetsTableOptions): string {
  const { columns: cols, rows } = fleetsTableModel(fleets, opts);
  return renderTable(cols, rows, { ...(opts.painter ? { painter: opts.painter } : {}), ...(opts.width ? { width: opts.width } : {}) });
}
