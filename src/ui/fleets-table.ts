/**
 * The fleets table of `dstack fleet` and of the end of a fleet apply, as dstack prints it. SSH fleets alone:
 * `FLEET  INSTANCE  BACKEND  RESOURCES  PRICE  STATUS  CREATED`, one row per instance with the fleet name on its
 * first row only. Once any fleet is a cloud fleet, dstack's newer layout for all of them (so SSH and cloud fleets
 * share one table): `NAME  NODES  GPU  SPOT  BACKEND  PRICE  STATUS  CREATED`, a fleet row, then its instances
 * indented. Blocks show as `1/4 busy`, a lost host as `idle (unreachable)`, an ended cloud instance as
 * `terminated (interrupted)`; `-v` adds HOST and ERROR (SSH layout) or RESOURCES instead of GPU and ERROR (cloud).
 */
import type { FleetView, InstanceView } from '../core/api.js';
import { formatRange } from '../core/config/format.js';
import { statusTone, type Painter } from './colors.js';
import { formatBackend, formatGpus, formatPrice, formatResources } from './offers-table.js';
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

/**
 * `idle`, `1/4 busy` for a host split into blocks, with ` (unreachable)` when the host stopped answering;
 * `terminated (interrupted)` when a cloud instance ended for a reason the user did not give.
 */
export function instanceStatus(i: InstanceView): string {
  const settled = i.status === 'idle' || i.status === 'busy';
  const blocks = settled && i.blocks !== undefined && i.blocks > 1 ? `${i.busyBlocks ?? 0}/${i.blocks} busy` : i.status;
  if (settled) return i.unreachable ? `${blocks} (unreachable)` : blocks;
  const ending = i.status === 'terminating' || i.status === 'terminated';
  // `terminated (terminated by user)` says nothing the user does not know: only other reasons are shown.
  const reason = ending && i.terminationReason && i.terminationReason !== 'terminated_by_user' ? i.terminationReason : undefined;
  return reason ? `${i.status} (${reason.replaceAll('_', ' ')})` : i.status;
}

/** The colour of an instance's status: lost hosts and spot interruptions stand out from a plain `terminated`. */
function instanceTone(i: InstanceView): string {
  if (i.unreachable && (i.status === 'idle' || i.status === 'busy')) return 'unreachable';
  return i.terminationReason === 'interrupted' ? 'interrupted' : i.status;
}

const statusCell = (text: string, tone: string): Cell => ({ text, ...(statusTone(tone) ? { tone: statusTone(tone)! } : {}) });

/** A cloud fleet is one with `nodes`; instances that carry cloud details mark one too (views of older daemons). */
export const isCloudFleet = (f: FleetView): boolean => f.nodes !== undefined || f.instances.some((i) => i.cloud !== undefined);

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
  const joined = joinedResources(i);
  const resources = joined ? formatResources(joined) : '-';
  const tone = instanceTone(i);
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

// Resources are known once the agent reported host info; before that dstack prints `-`.
const joinedResources = (i: InstanceView) => (i.status !== 'pending' && i.status !== 'provisioning' ? i.resources : undefined);

function cloudColumns(verbose: boolean): Column[] {
  // Names are what a user looks for: the indented instance names give width last.
  return [
    { header: 'NAME', shrink: 0.3 },
    { header: 'NODES', shrink: 0 },
    verbose ? { header: 'RESOURCES', shrink: 3 } : { header: 'GPU', shrink: 2 },
    { header: 'SPOT', shrink: 0 },
    { header: 'BACKEND' },
    { header: 'PRICE', shrink: 0 },
    { header: 'STATUS' },
    { header: 'CREATED' },
    ...(verbose ? [{ header: 'ERROR', shrink: 4 }] : []),
  ];
}

/** dstack's NODES: `0..1`, `2`, `1..` for a cloud fleet; the hosts it has for an SSH fleet. */
export function fleetNodes(f: FleetView): string {
  if (f.nodes) return formatRange(f.nodes);
  return String(f.instances.filter((i) => i.status !== 'terminating' && i.status !== 'terminated').length);
}

function cloudInstanceRow(i: InstanceView, opts: FleetsTableOptions): Row {
  const verbose = opts.verbose ?? false;
  const own = OWN_CAPACITY.has(i.backend);
  const joined = joinedResources(i);
  return {
    dim: i.status === 'terminated',
    cells: [
      `  ${i.name}`,
      '',
      joined ? (verbose ? formatResources(joined) : formatGpus(joined)) : '-',
      i.cloud ? (i.cloud.spot ? 'spot' : 'on-demand') : '-',
      formatBackend(i.backend, i.cloud?.region),
      i.cloud ? formatPrice(i.cloud.price) : own ? formatPrice(0) : '-',
      statusCell(instanceStatus(i), instanceTone(i)),
      formatAgo(i.createdAt, opts.now),
      ...(verbose ? [i.error ?? i.terminationReason ?? ''] : []),
    ],
  };
}

function cloudFleetRows(f: FleetView, opts: FleetsTableOptions): Row[] {
  const verbose = opts.verbose ?? false;
  const head: Row = {
    dim: f.status === 'terminated',
    cells: [f.name, fleetNodes(f), '', '', '', '', statusCell(f.status, f.status), formatAgo(f.createdAt, opts.now), ...(verbose ? [''] : [])],
  };
  return [head, ...f.instances.map((i) => cloudInstanceRow(i, opts))];
}

/** Columns and rows, for the plain renderer below and the Ink `<Table>`. */
export function fleetsTableModel(fleets: readonly FleetView[], opts: FleetsTableOptions): { columns: Column[]; rows: Row[] } {
  const verbose = opts.verbose ?? false;
  if (fleets.some(isCloudFleet)) return { columns: cloudColumns(verbose), rows: fleets.flatMap((f) => cloudFleetRows(f, opts)) };
  return { columns: columns(verbose), rows: fleets.flatMap((f) => fleetRows(f, opts)) };
}

export function renderFleetsTable(fleets: readonly FleetView[], opts: FleetsTableOptions): string {
  const { columns: cols, rows } = fleetsTableModel(fleets, opts);
  return renderTable(cols, rows, { ...(opts.painter ? { painter: opts.painter } : {}), ...(opts.width ? { width: opts.width } : {}) });
}
