/**
 * The fleet plan as dstack prints it before asking (reference/dstack-notes.md §6.3): a key/value table (Project,
 * Configuration, Type, Fleet type, Nodes, Placement), the hosts with what happens to each (add / keep / remove),
 * the changes against the existing fleet, warnings, and the question that fits the plan's action.
 */
import type { FleetPlan } from '../core/api.js';
import type { Painter } from './colors.js';
import { renderTable, type Row } from './table.js';

export interface FleetPlanRenderOptions {
  configPath: string;
  /** `any` or `cluster`, from the configuration. */
  placement: string;
  painter?: Painter;
  width?: number;
}

const ACTION_TONE = { add: 'green', keep: undefined, remove: 'red' } as const;

export function renderFleetPlan(plan: FleetPlan, opts: FleetPlanRenderOptions): string {
  const nodes = plan.hosts.filter((h) => h.action !== 'remove').length;
  const pairs: Array<[string, string]> = [
    ['Project', plan.project],
    ['Configuration', opts.configPath],
    ['Type', 'fleet'],
    ['Fleet type', 'ssh'],
    ['Nodes', String(nodes)],
    ['Placement', opts.placement],
  ];
  const bold = (s: string) => opts.painter?.bold(s) ?? s;
  const keyWidth = Math.max(...pairs.map(([k]) => k.length));
  const head = pairs.map(([k, v]) => ` ${bold(k.padEnd(keyWidth))}  ${v}`).join('\n');
  const rows: Row[] = plan.hosts.map((h) => {
    const tone = ACTION_TONE[h.action];
    return { dim: h.action === 'keep', cells: [h.host, h.instance, tone ? { text: h.action, tone } : h.action] };
  });
  const hosts = renderTable([{ header: 'HOST', shrink: 2 }, { header: 'INSTANCE' }, { header: 'ACTION' }], rows, {
    ...(opts.painter ? { painter: opts.painter } : {}),
    ...(opts.width ? { width: opts.width } : {}),
  });
  const warnings = plan.warnings.map((w) => (opts.painter ? opts.painter.paint(`Warning: ${w}`, 'yellow') : `Warning: ${w}`));
  return [head, '', hosts, ...(warnings.length ? ['', ...warnings] : [])].join('\n');
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
