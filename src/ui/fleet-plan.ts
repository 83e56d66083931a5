/**
 * The fleet plan as dstack prints it before asking (reference/dstack-notes.md §6.3): a key/value table (Project,
 * Configuration, Type, Fleet type, Nodes, Placement), then for an SSH fleet the hosts with what happens to each
 * (add / keep / remove), for a cloud fleet its policies and the cheapest offers its instances would be created
 * from; the changes against the existing fleet, warnings, and the question that fits the plan's action.
 */
import type { FleetPlan } from '../core/api.js';
import { formatDuration, formatRange, formatResources } from '../core/config/format.js';
import type { FleetConfig } from '../core/model/index.js';
import type { Painter } from './colors.js';
import { renderOffersTable } from './offers-table.js';
import { renderTable, type Row } from './table.js';

export interface FleetPlanRenderOptions {
  configPath: string;
  /** `any` or `cluster`, from the configuration. */
  placement: string;
  /** The parsed configuration: a cloud fleet's resources and policies are printed from it. */
  config?: FleetConfig;
  /** Offer rows to show (dstack's --max-offers, default 3). */
  maxOffers?: number;
  painter?: Painter;
  width?: number;
}

const ACTION_TONE = { add: 'green', keep: undefined, remove: 'red' } as const;

/** Said instead of an empty offers table: the apply still goes ahead, and each instance then fails with the reason. */
export const NO_FLEET_OFFERS = [
  "No offers match this fleet's resources/backends/regions.",
  'Its instances will fail to be created. Widen `resources`, `backends`, `regions`, `instance_types`, `spot_policy` or `max_price`; `dstack offer` lists what exists.',
].join('\n');

function keyValues(pairs: ReadonlyArray<[string, string]>, painter: Painter | undefined): string {
  const bold = (s: string) => painter?.bold(s) ?? s;
  const keyWidth = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => ` ${bold(k.padEnd(keyWidth))}  ${v}`).join('\n');
}

const tableOptions = (opts: FleetPlanRenderOptions) => ({ ...(opts.painter ? { painter: opts.painter } : {}), ...(opts.width ? { width: opts.width } : {}) });

function warningLines(plan: FleetPlan, painter: Painter | undefined): string[] {
  const lines = plan.warnings.map((w) => (painter ? painter.paint(`Warning: ${w}`, 'yellow') : `Warning: ${w}`));
  return lines.length ? ['', ...lines] : [];
}

/** The policies dstack prints for a cloud fleet, from its configuration (`-` when the command had none to give). */
function cloudPairs(c: FleetConfig | undefined): Array<[string, string]> {
  if (!c) return [];
  const retry = c.retry ? `${formatDuration(c.retry.duration)}[${c.retry.on_events.join(', ')}]` : 'off';
  return [
    ['Resources', formatResources(c.resources)],
    ...(c.backends ? [['Backends', c.backends.join(', ')] as [string, string]] : []),
    ...(c.regions ? [['Regions', c.regions.join(', ')] as [string, string]] : []),
    ...(c.instance_types ? [['Instance types', c.instance_types.join(', ')] as [string, string]] : []),
    ['Spot policy', c.spot_policy],
    ['Max price', c.max_price !== undefined ? `$${c.max_price}` : 'off'],
    ['Retry policy', retry],
    ['Idle duration', formatDuration(c.idle_duration)],
    ...(c.reservation ? [['Reservation', c.reservation] as [string, string]] : []),
  ];
}

function renderCloudFleetPlan(plan: FleetPlan, nodes: NonNullable<FleetPlan['nodes']>, opts: FleetPlanRenderOptions): string {
  const target = nodes.target !== nodes.min ? ` (${nodes.target} on apply)` : '';
  const head = keyValues(
    [
      ['Project', plan.project],
      ['Configuration', opts.configPath],
      ['Type', 'fleet'],
      ['Fleet type', 'cloud'],
      ['Nodes', `${formatRange(nodes)}${target}`],
      ['Placement', opts.placement],
      ...cloudPairs(opts.config),
    ],
    opts.painter,
  );
  const offers = plan.offers ?? [];
  const table =
    offers.length === 0
      ? NO_FLEET_OFFERS
      : renderOffersTable(offers, { max: opts.maxOffers ?? 3, ...(plan.offersTotal !== undefined ? { total: plan.offersTotal } : {}), ...(plan.offersMaxPrice !== undefined ? { maxPrice: plan.offersMaxPrice } : {}), ...(plan.catalogs ? { catalogs: plan.catalogs } : {}), ...tableOptions(opts) });
  return [head, '', table, ...warningLines(plan, opts.painter)].join('\n');
}

export function renderFleetPlan(plan: FleetPlan, opts: FleetPlanRenderOptions): string {
  if (plan.nodes) return renderCloudFleetPlan(plan, plan.nodes, opts);
  const nodes = plan.hosts.filter((h) => h.action !== 'remove').length;
  const head = keyValues(
    [
      ['Project', plan.project],
      ['Configuration', opts.configPath],
      ['Type', 'fleet'],
      ['Fleet type', 'ssh'],
      ['Nodes', String(nodes)],
      ['Placement', opts.placement],
    ],
    opts.painter,
  );
  const rows: Row[] = plan.hosts.map((h) => {
    const tone = ACTION_TONE[h.action];
    return { dim: h.action === 'keep', cells: [h.host, h.instance, tone ? { text: h.action, tone } : h.action] };
  });
  const hosts = renderTable([{ header: 'HOST', shrink: 2 }, { header: 'INSTANCE' }, { header: 'ACTION' }], rows, tableOptions(opts));
  return [head, '', hosts, ...warningLines(plan, opts.painter)].join('\n');
}

/** What to say and ask after the plan. `question` undefined = nothing to ask: print `message` and stop. */
export interface FleetPlanDecision {
  message?: string;
  question?: string;
  /** Exit without applying (nothing changed and no --force). */
  stop: boolean;
}

export function fleetPlanDecision(plan: FleetPlan, opts: { force: boolean }): FleetPlanDecision {
  const list = plan.changes.map((c) => `  - ${c}`).join('\n');
  switch (plan.action) {
    case 'create':
      return { question: `Fleet ${plan.fleetName} does not exist yet. Create the fleet?`, stop: false };
    case 'update':
      return { message: `Fleet ${plan.fleetName} already exists. Detected changes that can be updated in-place:\n${list}`, question: 'Update the fleet?', stop: false };
    case 'none':
      if (!opts.force) return { message: 'Fleet configuration has not changed. Use --force to apply it anyway.', stop: true };
      return { message: 'Fleet configuration has not changed.', question: 'Re-apply the fleet?', stop: false };
  }
}
