/**
 * The control API's operations (src/core/api.ts) over state, the backend and the reconciler: plan, apply, list,
 * get, stop, restart, logs, events, offers. Applies (and restarts) are serialized so two concurrent ones never
 * interleave their read-modify-write of state.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ApplyRequest, CatalogInfo, CatalogRefreshRequest, CatalogRefreshResult, Offer, OffersResponse, PlanRequest, RunPlan, RunView } from '../../core/api.js';
import { offersResponse, type OfferQuery } from '../../core/catalog/index.js';
import { catalogInfo } from '../../core/catalog/answer.js';
import { UserError } from '../../core/errors.js';
import { endedRun, isFinal, isRunEnding, isRunFinished } from '../../core/reconcile/index.js';
import {
  activeRun,
  ANY_REQUIREMENTS,
  applyRun,
  checkOffers,
  desiredOf,
  diffRuns,
  planSummary,
  prepareRun,
  requirementsOf,
  runOffers,
  type ApplyInput,
  type CloudFleetOffers,
  setDesired,
  type ApplyOutcome,
  type PreparedRun,
  type PrepareOptions,
} from '../../core/runs/index.js';
import type { RunRecord } from '../../core/state/schema.js';
import type { StateStore, StateWriter } from '../../core/state/store.js';
import type { Backend } from '../../backends/backend.js';
import type { CatalogService } from '../../backends/catalog/service.js';
import type { RunEvents } from '../api/events.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import { toRunView, type ViewContext } from './views.js';

export interface ControlPlaneOptions extends PrepareOptions {
  store: StateStore;
  backend: Backend;
  /** Offers of cloud catalogs and `dstack catalog refresh`; absent = the backend's offers only. */
  catalog?: Pick<CatalogService, 'offers' | 'refresh' | 'load'>;
  /** Cloud fleets that create instances for runs, and the offers each would create them from. */
  cloudFleets?: () => CloudFleetOffers[];
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

  /** `user`: the caller (the plan and the run name them); absent = the server's user. */
  async plan(req: PlanRequest, user = this.o.user): Promise<RunPlan> {
    const prepared = await prepareRun(req.config, this.o, this.o.random, req.repo, req.secretPaths);
    const offers = await this.offersFor(prepared);
    const current = activeRun(this.runsNamed(prepared.name));
    const diff = current ? diffRuns(current, prepared) : undefined;
    const plan: RunPlan = {
      project: this.o.project,
      user,
      runName: prepared.name,
      ...planSummary(prepared.config, this.o),
      offers,
      totalOffers: offers.length,
      action: diff ? diff.action : 'create',
      changes: diff?.changes ?? [],
      warnings: prepared.warnings,
    };
    if (current) plan.currentRun = this.view(current);
    const catalogs = await this.catalogsOf(offers);
    if (catalogs.length > 0) plan.catalogs = catalogs;
    return plan;
  }

  /** Where the cloud offers' prices come from: the catalog of each provider among them. */
  private async catalogsOf(offers: readonly Offer[]): Promise<CatalogInfo[]> {
    const catalog = this.o.catalog;
    if (!catalog) return [];
    const providers = [...new Set(offers.filter((o) => o.backend !== 'local' && o.backend !== 'ssh').map((o) => o.backend))];
    const loaded = await Promise.all(providers.map((p) => catalog.load(p).then(catalogInfo, () => undefined)));
    return loaded.filter((c): c is CatalogInfo => c !== undefined);
  }

  apply(req: ApplyRequest, user = this.o.user): Promise<RunView> {
    const next = this.queue.then(() => this.applyNow(req, user));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async applyNow(req: ApplyRequest, user: string): Promise<RunView> {
    const prepared = await prepareRun(req.config, this.o, this.o.random, req.repo, req.secretPaths);
    return this.submitPrepared(prepared, { configPath: req.configPath, force: req.force }, user);
  }

  private async submitPrepared(prepared: PreparedRun, request: ApplyInput['request'], user: string): Promise<RunView> {
    checkOffers(await this.offersFor(prepared), prepared.config, this.onFleets(prepared));
    const context = { project: this.o.project, user, now: this.o.clock(), id: randomBytes(8).toString('hex') };
    // The runs are read in the transaction that writes the outcome, so the outcome is decided on what it replaces.
    const outcome = this.o.store.transaction((tx) => {
      const previous = this.runsNamed(prepared.name, tx.runs());
      const result = applyRun({ prepared, current: activeRun(previous), previous, request }, context);
      write(tx, result);
      return result;
    });
    if (outcome.action === 'recreated') this.changed(outcome.stopped);
    if (outcome.action !== 'unchanged') this.changed(outcome.run);
    return this.view(outcome.run);
  }

  /**
   * The dashboard's Restart: an active run gets a new deployment, which the reconciler rolls out one replica at a
   * time (new ready before old stops: no downtime), as `dstack apply --force` of the same configuration does; a
   * finished run is submitted again from its stored configuration, as `dstack apply` of the same file would.
   */
  restart(name: string, user = this.o.user): Promise<RunView> {
    const next = this.queue.then(() => this.restartNow(name, user));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async restartNow(name: string, user: string): Promise<RunView> {
    const run = this.findRun(name);
    if (!isRunFinished(run)) {
      if (isRunEnding(run)) throw new UserError('RUN_ENDING', `Run ${name} is stopping`, { status: 409, hint: 'Restart it once it has stopped.' });
      const next = this.o.store.updateRun(run.id, (cur) => ({ ...cur, deployment: cur.deployment + 1 }))!;
      this.changed(next);
      return this.view(next);
    }
    // The stored record, not `configRaw` again: values the CLI masked (secretPaths) are only in the spec templates.
    const prepared: PreparedRun = {
      name: run.name,
      raw: run.configRaw,
      config: run.config,
      repo: run.repo,
      settings: run.settings,
      specTemplate: run.specTemplate,
      specTemplates: run.specTemplates,
      requirements: requirementsOf(run.config.resources),
      warnings: [],
    };
    return this.submitPrepared(prepared, { configPath: run.configPath, force: false }, user);
  }

  list(all: boolean): RunView[] {
    const runs = this.o.store.runs().filter((r) => r.project === this.o.project).sort((a, b) => b.submittedAt - a.submittedAt);
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
    // Compare-and-set: an unchanged count gives back the same record, and nothing is written or woken.
    const next = this.o.store.updateRun(run.id, (cur) => setDesired(cur, n, group)) ?? run;
    if (next !== run) this.changed(next);
    return desiredOf(next, group);
  }

  /** The offers placement can use for this run: fleet hosts (of the named `fleets:`) or the local machine. */
  private async offersFor(prepared: PreparedRun): Promise<Offer[]> {
    return runOffers(await this.o.backend.offers(prepared.requirements), prepared.config, this.onFleets(prepared), this.o.cloudFleets?.() ?? []);
  }

  private onFleets(prepared: PreparedRun): boolean | undefined {
    return this.o.usesFleets?.(prepared.config.backends);
  }

  /** `dstack offer`: the machines dstack has and the clouds' catalog offers, filtered alike, cheapest first. */
  async offers(query: OfferQuery = { filters: { requirements: ANY_REQUIREMENTS }, named: [] }): Promise<OffersResponse> {
    const none = { offers: [], catalogs: [], notes: [] };
    const [own, clouds] = await Promise.all([this.o.backend.offers(query.filters.requirements), this.o.catalog?.offers(query) ?? none]);
    return offersResponse(own, clouds, query);
  }

  refreshCatalog(req: CatalogRefreshRequest): Promise<CatalogRefreshResult> {
    if (!this.o.catalog) throw new UserError('NOT_SUPPORTED', 'this daemon has no catalogs', { status: 501 });
    return this.o.catalog.refresh(req);
  }

  /** The latest run of that name (active first). */
  findRun(name: string): RunRecord {
    const runs = this.runsNamed(name);
    const run = runs.find((r) => !isRunFinished(r)) ?? runs.sort((a, b) => b.submittedAt - a.submittedAt)[0];
    if (!run) throw new UserError('RUN_NOT_FOUND', `Run ${name} not found`, { status: 404, hint: 'See `dstack ps -a` for runs.' });
    return run;
  }

  private runsNamed(name: string, runs: readonly RunRecord[] = this.o.store.runs()): RunRecord[] {
    return runs.filter((r) => r.name === name && r.project === this.o.project);
  }

  private changed(run: RunRecord): void {
    this.o.events.notify(run.id);
    this.o.reconciler.kick();
  }
}

function write(tx: StateWriter, outcome: ApplyOutcome): void {
  if (outcome.action === 'unchanged') return;
  if (outcome.action === 'recreated') tx.putRun(outcome.stopped);
  if (outcome.action !== 'updated') for (const id of outcome.removed) tx.removeRun(id);
  tx.putRun(outcome.run);
}
