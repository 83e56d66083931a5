/**
 * The runs table of `dstack ps` and of the apply progress (reference/dstack-notes.md §6.2). A run with one
 * replica is one merged row; otherwise a run row and indented `replica=N` rows. `-v` swaps GPU for RESOURCES +
 * INSTANCE TYPE and adds PROBES, ERROR, REPLICAS (current/desired), RPS and MODEL. A run with replica groups has
 * `group=G replica=N` rows, and with `-v` a row per group (its REPLICAS and RPS) above its replicas. A running replica
 * whose probes fail after it was ready shows `unhealthy`, and with `-v` why in ERROR.
 */
import { JobStatus, RunStatus, type GroupView, type ReplicaView, type RunView } from '../core/api.js';
import { isFinal, isRunFinished } from '../core/reconcile/index.js';
import { statusTone, type Painter } from './colors.js';
import { unhealthyText } from './replica-health.js';
import { formatBackend, formatGpus, formatPrice, formatResources } from './offers-table.js';
import { renderTable, type Cell, type Column, type Row } from './table.js';
import { formatAgo } from './time.js';

export interface RunsTableOptions {
  verbose?: boolean;
  /** ms since epoch; SUBMITTED is relative to it. */
  now: number;
  painter?: Painter;
  width?: number;
}


/** The replicas worth a row: the newest submission of each replica number, active ones unless the run ended. */
export function visibleReplicas(run: RunView): ReplicaView[] {
  const newest = new Map<number, ReplicaView>();
  for (const r of run.replicas) {
    const seen = newest.get(r.num);
    if (!seen || r.submission > seen.submission || (r.submission === seen.submission && r.deployment > seen.deployment)) newest.set(r.num, r);
  }
  const all = [...newest.values()].sort((a, b) => a.num - b.num);
  const runEnded = isRunFinished(run) || run.status === 'terminating';
  return runEnded ? all : all.filter((r) => !isFinal(r.status));
}

/** `✓` passed (ready), `×` last check failed, `~` not there yet; one mark per probe. */
export function formatProbes(r: ReplicaView): string {
  if (r.probes.length === 0) return '-';
  return r.probes.map((p) => (p.successStreak >= p.readyAfter ? '✓' : p.lastOk === false ? '×' : '~')).join('');
}

// A message that is itself a status name (`running` left on a terminated run) would contradict the status: the
// status wins. Real messages (`no capacity`, `exited (1)`, `pulling 3/5`) are shown instead of the status, as dstack does.
const STATUS_NAMES = new Set([...RunStatus.options, ...JobStatus.options]);
const statusText = (status: string, message: string | undefined) => (message && !STATUS_NAMES.has(message as never) ? message : status);
const statusCell = (text: string): Cell => ({ text, ...(statusTone(text) ? { tone: statusTone(text)! } : {}) });
const replicaStatus = (r: ReplicaView): string => (r.unhealthy && r.status === 'running' ? 'unhealthy' : statusText(r.status, r.statusMessage));

const replicaError = (r: ReplicaView | undefined): string =>
  r?.error ?? (r?.unhealthy && r.status === 'running' ? unhealthyText(r) : r?.replacedBecause ? `replaced: ${r.replacedBecause}` : '');
const price = (r: ReplicaView | undefined) =>
  r?.cloud ? formatPrice(r.cloud.price) : r?.backend === undefined ? '' : r.backend === 'local' || r.backend === 'remote' || r.backend === 'ssh' ? formatPrice(0) : '-';

function columns(verbose: boolean): Column[] {
  const head = [{ header: 'NAME' }, { header: 'BACKEND' }];
  const res = verbose ? [{ header: 'RESOURCES', shrink: 3 }, { header: 'INSTANCE TYPE' }] : [{ header: 'GPU' }];
  const mid = [{ header: 'PRICE', shrink: 0 }, { header: 'STATUS' }, ...(verbose ? [{ header: 'PROBES' }] : []), { header: 'SUBMITTED' }];
  const tail = verbose ? [{ header: 'ERROR', shrink: 4 }, { header: 'REPLICAS' }, { header: 'RPS', align: 'right' as const }, { header: 'MODEL' }] : [];
  return [...head, ...res, ...mid, ...tail];
}

function replicaCells(r: ReplicaView | undefined, verbose: boolean): Array<string | Cell> {
  const backend = r?.cloud ? formatBackend(r.cloud.backend, r.cloud.region) : r?.backend ? formatBackend(r.backend, undefined) : '';
  const type = r?.cloud ? `${r.cloud.instanceType}${r.cloud.spot ? ' (spot)' : ''}` : (r?.instance ?? '');
  const res = verbose ? [r?.resources ? formatResources(r.resources) : '', type] : [r ? formatGpus(r.resources) : ''];
  return [backend, ...res, price(r)];
}

function runRows(run: RunView, opts: RunsTableOptions): Row[] {
  const verbose = opts.verbose ?? false;
  const replicas = visibleReplicas(run);
  const merged = replicas.length <= 1 && run.desiredReplicas <= 1;
  const only = merged ? replicas[0] : undefined;
  const current = run.replicas.filter((r) => r.status === 'running').length;
  const runStatus = statusCell(only?.unhealthy && run.status === 'running' ? replicaStatus(only) : statusText(run.status, run.statusMessage));
  const dim = isRunFinished(run);
  const runRow: Row = {
    dim,
    cells: [
      run.name,
      ...replicaCells(only, verbose),
      runStatus,
      ...(verbose ? [only ? formatProbes(only) : ''] : []),
      formatAgo(run.submittedAt, opts.now),
      ...(verbose ? [run.error ?? replicaError(only), `${current}/${run.desiredReplicas}`, run.rps === undefined ? '' : run.rps.toFixed(1), run.model?.name ?? ''] : []),
    ],
  };
  if (merged && !run.groups) return [runRow];
  const replicaRow = (r: ReplicaView, label: string): Row => ({
    dim,
    cells: [
      label,
      ...replicaCells(r, verbose),
      statusCell(replicaStatus(r)),
      ...(verbose ? [formatProbes(r)] : []),
      formatAgo(r.submittedAt, opts.now),
      ...(verbose ? [replicaError(r), '', '', ''] : []),
    ],
  });
  if (!run.groups) return [runRow, ...replicas.map((r) => replicaRow(r, `  replica=${r.num}`))];
  // dstack labels the rows of a run with replica groups `group=G replica=N`; -v adds a row per group.
  if (!verbose) return [runRow, ...replicas.map((r) => replicaRow(r, `  group=${r.group ?? ''} replica=${r.num}`))];
  return [runRow, ...run.groups.flatMap((g) => [groupRow(g, dim), ...replicas.filter((r) => r.group === g.name).map((r) => replicaRow(r, `    replica=${r.num}`))])];
}

/** A replica group under its run (-v): its running/desired replicas and rps in the REPLICAS and RPS columns. */
function groupRow(g: GroupView, dim: boolean): Row {
  const blanks = (n: number) => Array.from({ length: n }, () => '');
  return { dim, cells: [`  group=${g.name}`, ...blanks(8), `${g.running}/${g.desired}`, g.rps === undefined ? '' : g.rps.toFixed(1), ''] };
}

/** Columns and rows, for the plain renderer below and the Ink `<Table>` of the live views. */
export function runsTableModel(runs: readonly RunView[], opts: RunsTableOptions): { columns: Column[]; rows: Row[] } {
  return { columns: columns(opts.verbose ?? false), rows: runs.flatMap((run) => runRows(run, opts)) };
}

export function renderRunsTable(runs: readonly RunView[], opts: RunsTableOptions): string {
  const { columns: cols, rows } = runsTableModel(runs, opts);
  return renderTable(cols, rows, { ...(opts.painter ? { painter: opts.painter } : {}), ...(opts.width ? { width: opts.width } : {}) });
}
