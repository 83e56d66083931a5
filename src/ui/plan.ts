/**
 * The run plan as dstack prints it before asking (reference/dstack-notes.md §6.1): a key/value table, the offers
 * table, warnings, and the question that fits the plan's action. Pure: the command decides how to ask.
 */
import type { RunPlan } from '../core/api.js';
import type { Painter } from './colors.js';
import { renderOffersTable } from './offers-table.js';

export interface PlanRenderOptions {
  configPath: string;
  /** What goes with the service: `<path> (N files, X MB)`. */
  repo?: string;
  maxOffers?: number;
  painter?: Painter;
  width?: number;
}

export function renderPlan(plan: RunPlan, opts: PlanRenderOptions): string {
  const pairs: Array<[string, string]> = [
    ['Project', plan.project],
    ['User', plan.user],
    ['Configuration', opts.configPath],
    ...(opts.repo !== undefined ? [['Repo', opts.repo] as [string, string]] : []),
    ['Type', 'service'],
    ['Resources', plan.resources],
    ['Spot policy', plan.spotPolicy],
    ['Max price', plan.maxPrice],
    ['Retry policy', plan.retryPolicy],
    ['Creation policy', plan.creationPolicy],
    ['Idle duration', plan.idleDuration],
    ['Max duration', plan.maxDuration],
  ];
  const bold = (s: string) => opts.painter?.bold(s) ?? s;
  const keyWidth = Math.max(...pairs.map(([k]) => k.length));
  const head = pairs.map(([k, v]) => ` ${bold(k.padEnd(keyWidth))}  ${v}`).join('\n');
  const offers =
    plan.offers.length === 0
      ? 'No matching instance offers available. Possible reasons: https://dstack.ai/docs/guides/troubleshooting/#no-offers'
      : renderOffersTable(plan.offers, {
          max: opts.maxOffers ?? 3,
          total: plan.totalOffers,
          ...(plan.catalogs ? { catalogs: plan.catalogs } : {}),
          ...(opts.painter ? { painter: opts.painter } : {}),
          ...(opts.width ? { width: opts.width } : {}),
        });
  const warnings = plan.warnings.map((w) => (opts.painter ? opts.painter.paint(`Warning: ${w}`, 'yellow') : `Warning: ${w}`));
  return [head, '', offers, ...(warnings.length ? ['', ...warnings] : [])].join('\n');
}

/** What to say and ask after the plan. `question` undefined = nothing to ask: print `message` and stop. */
export interface PlanDecision {
  message?: string;
  question?: string;
  /** Exit without applying (identical run with -y and no --force). */
  stop: boolean;
}

export function planDecision(plan: RunPlan, opts: { yes: boolean; force: boolean }): PlanDecision {
  const active = `Active run ${plan.runName} already exists.`;
  const list = (items: string[]) => items.map((c) => `  - ${c}`).join('\n');
  switch (plan.action) {
    case 'create':
      return { question: `Submit the run ${plan.runName}?`, stop: false };
    case 'update':
      return { message: `${active} Detected changes that can be updated in-place:\n${list(plan.changes)}`, question: 'Update the run?', stop: false };
    case 'recreate':
      return { message: `${active} Detected changes that cannot be updated in-place:\n${list(plan.changes)}`, question: 'Stop and override the run?', stop: false };
    case 'none':
      if (opts.yes && !opts.force) return { message: `${active} Detected no changes.\nUse --force to apply anyway.`, stop: true };
      return { message: `${active} Detected no changes.`, question: 'Stop and override the run?', stop: false };
  }
}
