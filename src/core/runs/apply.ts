/**
 * Applying a prepared configuration to the runs of its name (dstack's `apply_plan`): leave the active run as it
 * is, update it in place (a rolling deployment when the spec changed), or stop it and submit a new run; with no
 * active run, submit one. Pure: time and the new run's id come in; the caller writes the outcome in one transaction.
 */
import { endedRun } from '../reconcile/decide.js';
import { isRunEnding, isRunFinished } from '../reconcile/run-status.js';
import type { RunRecord } from '../state/schema.js';
import { diffRuns } from './changes.js';
import type { PreparedRun } from './prepare.js';

export interface ApplyInput {
  prepared: PreparedRun;
  /** The active run of that name (see `activeRun`), if any. */
  current: RunRecord | undefined;
  /** Every run of that name in the project, the current one included. */
  previous: readonly RunRecord[];
  request: { configPath?: string | undefined; force: boolean };
}

export interface ApplyContext {
  project: string;
  user: string;
  now: number;
  /** The id a newly submitted run gets. */
  id: string;
}

export type ApplyOutcome =
  | { action: 'unchanged'; run: RunRecord }
  | { action: 'updated'; run: RunRecord }
  /** `stopped`: the current run, ending; `removed`: ids of finished runs of that name. */
  | { action: 'recreated'; stopped: RunRecord; run: RunRecord; removed: string[] }
  | { action: 'created'; run: RunRecord; removed: string[] };

/** The run of that name that takes changes: not finished and not ending. */
export const activeRun = (runs: readonly RunRecord[]): RunRecord | undefined => runs.find((r) => !isRunEnding(r));

export function applyRun(input: ApplyInput, ctx: ApplyContext): ApplyOutcome {
  const { current, prepared, request } = input;
  if (!current) return { action: 'created', ...submit(input, ctx) };
  const diff = diffRuns(current, prepared);
  if (diff.action === 'none' && !request.force) return { action: 'unchanged', run: current };
  // A forced apply of the same config is a new deployment: its replicas are replaced.
  if (diff.action !== 'recreate') return { action: 'updated', run: updated(current, input, diff.redeploy || diff.action === 'none') };
  return { action: 'recreated', stopped: endedRun(current, 'stopped_by_user'), ...submit(input, ctx) };
}

function updated(current: RunRecord, { prepared, request }: ApplyInput, redeploy: boolean): RunRecord {
  const { repo: _repo, specTemplates: _templates, ...rest } = current;
  const { min, max } = prepared.settings.replicas;
  return {
    ...rest,
    configRaw: prepared.raw,
    config: prepared.config,
    settings: prepared.settings,
    specTemplate: prepared.specTemplate,
    ...(prepared.repo !== undefined ? { repo: prepared.repo } : {}),
    ...(prepared.specTemplates ? { specTemplates: prepared.specTemplates } : {}),
    ...(request.configPath !== undefined ? { configPath: request.configPath } : {}),
    deployment: redeploy ? current.deployment + 1 : current.deployment,
    // The autoscaler's count survives a new range; without autoscaling the run wants its `min`.
    desiredReplicas: prepared.settings.autoscaling ? Math.max(min, Math.min(max, current.desiredReplicas)) : min,
  };
}

function submit({ prepared, previous, request }: ApplyInput, ctx: ApplyContext): { run: RunRecord; removed: string[] } {
  // Submission numbers continue after every earlier run of the name, so container names never clash.
  const submissionBase = Math.max(0, ...previous.flatMap((r) => r.replicas.map((x) => x.submission + 1)), ...previous.map((r) => r.submissionBase));
  const run: RunRecord = {
    id: ctx.id,
    name: prepared.name,
    project: ctx.project,
    user: ctx.user,
    configRaw: prepared.raw,
    config: prepared.config,
    ...(request.configPath !== undefined ? { configPath: request.configPath } : {}),
    ...(prepared.repo !== undefined ? { repo: prepared.repo } : {}),
    settings: prepared.settings,
    specTemplate: prepared.specTemplate,
    ...(prepared.specTemplates ? { specTemplates: prepared.specTemplates } : {}),
    // dstack: a run with nothing to start yet (scaled to zero) is pending, not submitted.
    status: prepared.settings.replicas.min === 0 ? 'pending' : 'submitted',
    submittedAt: ctx.now,
    deployment: 0,
    desiredReplicas: prepared.settings.replicas.min,
    submissionBase,
    replicas: [],
  };
  // dstack deletes a finished run when a new one takes its name.
  return { run, removed: previous.filter(isRunFinished).map((r) => r.id) };
}
