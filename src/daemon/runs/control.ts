/**
 * The control API's operations (src/core/api.ts) over state, the backend and the reconciler: plan, apply, list,
 * get, stop, logs, events, offers. Applies are serialized so two concurrent applies never interleave their
 * read-modify-write of state.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ApplyRequest, Offer, PlanRequest, RunPlan, RunView } from '../../core/api.js';
import { UserError } from '../../core/errors.js';
import { endedRun, isFinal, isRunEnding, isRunFinished } from '../../core/reconcile/index.js';
import { ANY_REQUIREMENTS, desiredOf, randomRunName, requirementsOf, setDesired, type Requirements } from '../../core/runs/index.js';
import type { RunRecord } from '../../core/state/schema.js';
import type { StateStore } from '../../core/state/store.js';
import type { PlacementConfig } from '../../core/scheduling/request.js';
import type { Backend } from '../../backends/backend.js';
import type { RunEvents } from '../api/events.js';
import { prepareRun, planSummary, type ParsedConfig, type PrepareOptions } from './prepare.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import { toRunView, type ViewContext } from './views.js';

export interface ControlPlaneOptions extends PrepareOptions {
  store: StateStore;
  backend: Backend;
  reconciler: Reconciler;
  events: RunEvents;
  view: ViewContext;
  project: string;
  user: string;
  clock: () => number;
  random?: () => number;
}

export class ControlPlane {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: ControlPlaneOptions) {}

  view(run: RunRecord): RunView {
    return toRunView(run, this.o.view);
  }

  async plan(req: PlanRequest): Promise<RunPlan> {
    const prepared = await prepareRun(req.config, this.o, this.o.random, req.repo);
    const offers = await this.runOffers(prepared.requirements, prepared.parsed.config as PlacementConfig);
    const current = this.activeRun(prepared.name);
    const diff = current ? prepared.diff(current) : undefined;
    const plan: RunPlan = {
      project: this.o.project,
      user: this.o.user,
      runName: prepared.name,
      ...planSummary(prepared.parsed, this.o),
      offers,
      totalOffers: offers.length,
      action: diff ? diff.action : 'create',
      changes: diff?.changes ?? [],
      warnings: prepared.warnings,
    };
    if (current) plan.currentRun = this.view(current);
    return plan;
  }

  apply(req: ApplyRequest): Promise<RunView> {
    const next = this.queue.then(() => this.applyNow(req));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async applyNow(req: ApplyRequest): Promise<RunView> {
    const prepared = await prepareRun(req.config, this.o, this.o.random, req.repo);
    const placement = prepared.parsed.config as PlacementConfig;
    const offers = await this.runOffers(prepared.requirements, placement);
    // A busy fleet host may still have free blocks; placement decides, and the run waits when nothing fits.
    if (!offers.some((o) => o.availability === 'available' || o.availability === 'idle' || (o.backend === 'ssh' && o.availability === 'busy'))) {
      const onFleets = this.o.usesFleets?.(placement.backends) ?? false;
      throw new UserError('NO_OFFERS', 'No matching instance offers available.', {
        hint: onFleets
          ? `No host of ${placement.fleets?.length ? `the fleet(s) ${placement.fleets.join(', ')}` : 'your fleets'} meets the \`resources\` of this configuration; \`dstack offer\` lists the hosts, \`backends: [local]\` runs on this machine.`
          : 'The local machine does not meet the `resources` of this configuration; lower them or add capacity.',
      });
    }
    const now = this.o.clock();
    const current = this.activeRun(prepared.name);
    if (current) {
      const diff = prepared.diff(current);
      if (diff.action === 'none' && !req.force) return this.view(current);
      if (diff.action !== 'recreate') {
        const updated = this.o.store.updateRun(current.id, (cur) => {
          const { repo: _r, specTemplates: _t, ...rest } = cur;
          const { min, max } = prepared.settings.replicas;
          return {
            ...rest,
            configRaw: prepared.raw,
            config: prepared.parsed.config,
            settings: prepared.settings,
            specTemplate: prepared.specTemplate,
            ...(req.repo !== undefined ? { repo: req.repo } : {}),
            ...(prepared.specTemplates ? { specTemplates: prepared.specTemplates } : {}),
            deployment: diff.redeploy || diff.action === 'none' ? cur.deployment + 1 : cur.deployment,
            desiredReplicas: prepared.settings.autoscaling ? Math.max(min, Math.min(max, cur.desiredReplicas)) : min,
            ...(req.configPath !== undefined ? { configPath: req.configPath } : {}),
          };
        })!;
        this.changed(updated);
        return this.view(updated);
      }
      this.changed(this.o.store.updateRun(current.id, (cur) => endedRun(cur, 'stopped_by_user'))!);
    }
    const previous = this.o.store.runs().filter((r) => r.name === prepared.name && r.project === this.o.project);
    const submissionBase = Math.max(0, ...previous.flatMap((r) => r.replicas.map((x) => x.submission + 1)), ...previous.map((r) => r.submissionBase));
    const run: RunRecord = {
      id: randomBytes(8).toString('hex'),
      name: prepared.name,
      project: this.o.project,
      user: this.o.user,
      configRaw: prepared.raw,
      config: prepared.parsed.config,
      ...(req.configPath !== undefined ? { configPath: req.configPath } : {}),
      ...(req.repo !== undefined ? { repo: req.repo } : {}),
      settings: prepared.settings,
      specTemplate: prepared.specTemplate,
      ...(prepared.specTemplates ? { specTemplates: prepared.specTemplates } : {}),
      // dstack: a run with nothing to start yet (scaled to zero) is pending, not submitted.
      status: prepared.settings.replicas.min === 0 ? 'pending' : 'submitted',
      submittedAt: now,
      deployment: 0,
      desiredReplicas: prepared.settings.replicas.min,
      submissionBase,
      replicas: [],
    };
    this.o.store.transaction((tx) => {
      // dstack deletes a finished run when a new one takes its name.
      for (const r of tx.runs()) if (r.name === run.name && r.project === run.project && isRunFinished(r)) tx.removeRun(r.id);
      tx.putRun(run);
    });
    this.changed(run);
    return this.view(run);
  }

  list(all: boolean): RunView[] {
    const runs = [...this.o.store.runs()].sort((a, b) => b.submittedAt - a.submittedAt);
    if (all) return runs.map((r) => this.view(r));
    const active = runs.filter((r) => !isRunFinished(r));
    return (active.length > 0 ? active : runs.slice(0, 1)).map((r) => this.view(r));
  }

  get(name: string): RunView {
    return this.view(this.findRun(name));
  }

  stop(name: string, abort: boolean): RunView {
    const run = this.findRun(name);
    if (isRunFinished(run)) return this.view(run);
    const stopped = this.o.store.updateRun(run.id, (cur) => ({ ...endedRun(cur, abort ? 'aborted_by_user' : 'stopped_by_user'), status: 'terminating' }))!;
    this.changed(stopped);
    return this.view(stopped);
  }

  async logs(name: string, options: { replica: number; follow: boolean; since?: number; signal?: AbortSignal }): Promise<Readable> {
    const run = this.findRun(name);
    const candidates = run.replicas.filter((r) => r.num === options.replica && r.status !== 'submitted');
    const replica = candidates.find((r) => !isFinal(r.status)) ?? candidates.sort((a, b) => b.submission - a.submission)[0];
    if (!replica) {
      throw new UserError('REPLICA_NOT_FOUND', `Run ${name} has no replica ${options.replica} with logs yet`, { status: 404 });
    }
    const conn = await this.o.reconciler.connect(replica.instance ?? 'local');
    return conn.client.logs(replica.id, options);
  }

  /**
   * The autoscaler's entry point: sets the desired replica count of a replica group (default: the run's first
   * group with a range), clamped to its range (`setDesired`). Returns the group's count in effect, or undefined
   * when the run is not active.
   */
  setDesiredReplicas(project: string, name: string, n: number, group?: string): number | undefined {
    const run = this.o.store.runs().find((r) => r.name === name && r.project === project && !isRunEnding(r));
    if (!run) return undefined;
    const next = setDesired(run, n, group);
    if (next !== run) {
      this.o.store.putRun(next);
      this.changed(next);
    }
    return desiredOf(next, group);
  }

  /** The offers placement can use for this run: fleet hosts (of the named `fleets:`) or the local machine. */
  private async runOffers(requirements: Requirements, config: PlacementConfig): Promise<Offer[]> {
    const offers = await this.o.backend.offers(requirements);
    if (!this.o.usesFleets) return offers;
    if (!this.o.usesFleets(config.backends)) return offers.filter((o) => o.backend !== 'ssh');
    const named = config.fleets?.length ? new Set(config.fleets) : undefined;
    return offers.filter((o) => o.backend === 'ssh' && (!named || (o.fleet !== undefined && named.has(o.fleet))));
  }

  offers(requirements: Requirements = ANY_REQUIREMENTS): Promise<Offer[]> {
    return this.o.backend.offers(requirements);
  }

  /** The latest run of that name (active first). */
  findRun(name: string): RunRecord {
    const runs = this.o.store.runs().filter((r) => r.name === name && r.project === this.o.project);
    const run = runs.find((r) => !isRunFinished(r)) ?? runs.sort((a, b) => b.submittedAt - a.submittedAt)[0];
    if (!run) throw new UserError('RUN_NOT_FOUND', `Run ${name} not found`, { status: 404, hint: 'See `dstack ps -a` for runs.' });
    return run;
  }

  private activeRun(name: string): RunRecord | undefined {
    return this.o.store.runs().find((r) => r.name === name && r.project === this.o.project && !isRunFinished(r) && !r.terminationReason);
  }

  private changed(run: RunRecord): void {
    this.o.events.notify(run.id);
    this.o.reconciler.kick();
  }
}

export { requirementsOf, randomRunName };
export type { ParsedConfig };
