/**
 * The control loop (DESIGN.md §2): every tick (and at once on agent events and API changes) host loss is decided,
 * each active run that changed or has a deadline due (steady.ts) goes through the pure `reconcileRun`, its new record
 * is stored and its effects are carried out on the agents. This class only composes the parts: the tick schedule
 * (loop.ts), agent connections and watches (agent-connections.ts), effects (effects.ts), adoption of agent reports
 * (adoption.ts) and record writes (replica-records.ts); the decisions are core's.
 */
import type { AgentConnection } from '../../backends/backend.js';
import {
  applyHostLoss,
  decideHostLoss,
  decideInstanceRemoved,
  isRunFinished,
  isActive,
  needsPlacement,
  replicaTarget,
  type Effect,
  type HostLossAction,
} from '../../core/reconcile/index.js';
import type { GroupIpRef } from '../../core/runs/group-refs.js';
import { groupStates } from '../../core/runs/groups.js';
import { fallbackPolicy, reconcileWithFallback, spotUnavailable } from '../../core/runs/spot-fallback.js';
import type { ReplicaRecord, RunRecord } from '../../core/state/schema.js';
import type { StateStore } from '../../core/state/store.js';
import type { RouteTable } from '../../proxy/contracts.js';
import { FleetPlacer } from '../fleets/placement.js';
import type { Log } from '../process/log.js';
import { Adoption } from './adoption.js';
import { AgentConnections, type AgentLink, type AgentSource } from './agent-connections.js';
import { Effects, type EffectsOptions } from './effects.js';
import { TickLoop } from './loop.js';
import { ReplicaRecords, type ReplicaUpdate } from './replica-records.js';
import { RepoUploads } from './repo-upload.js';
import { RouteCache, syncRoutes } from './routes-sync.js';
import { nodeScheduler, type Scheduler } from './scheduler.js';
import { SteadyRuns } from './steady.js';

export interface ReconcilerOptions<C extends AgentLink = AgentConnection> {
  store: StateStore;
  /** This server's DSTACK_HOME/archives: code archives are read from there by sha256 (repo-upload.ts). */
  archivesDir?: string;
  backend: AgentSource<C>;
  routes: RouteTable & { drain?(replicaId: string): Promise<void> };
  events: { notify(runId: string): void };
  log: Log;
  clock: () => number;
  /** Default: node timers. */
  scheduler?: Scheduler;
  tickMs: number;
  backoffBaseMs: number;
  crashLoopLimit: number;
  /** The proxy's idle limit for services without `stream_idle_timeout` (ms, 0 = none). */
  readTimeoutMs: number;
  /** How long an unhealthy replica may recover before it is replaced (default 180 s). */
  unhealthyGraceMs?: number;
  /** SSH fleets: whether a run with these `backends:` goes to fleet instances. Absent = no fleet support. */
  usesFleets?: (backends: readonly string[] | undefined, project: string) => boolean;
  /** Instances without a project belong to it: a run is placed on its own project's fleets only (issue 17). */
  defaultProject?: string;
  /** How long a host may stay unreachable before its replicas fail over to other hosts (default 30 s). */
  hostLossMs?: number;
  /** An agent's event stream broke twice in a row (the fleet marks the host unreachable). */
  onInstanceDisconnect?: (instance: string, e: Error) => void;
  /** An agent's snapshot arrived: the host answers again. */
  onInstanceSnapshot?: (instance: string) => void;
  /** Resolves a replica's `${{ secrets.NAME }}` references as it starts (effects.ts). */
  resolveSpec?: EffectsOptions<C>['resolveSpec'];
}

/** The reconciler over any agent link: the backends' agent connections in the daemon, an in-memory agent in tests. */
export class Reconciler<C extends AgentLink = AgentConnection> {
  readonly repoUploads: RepoUploads;
  private readonly tickListeners = new Set<() => void>();
  private readonly records: ReplicaRecords;
  private readonly agents: AgentConnections<C>;
  private readonly effects: Effects<C>;
  private readonly adoption: Adoption;
  private readonly loop: TickLoop;
  private readonly routeCache = new RouteCache();
  private readonly steady = new SteadyRuns();
  private decided = 0;

  constructor(private readonly o: ReconcilerOptions<C>) {
    const scheduler = o.scheduler ?? nodeScheduler;
    const activeShas = () => new Set(this.activeRuns().flatMap((r) => (r.repo ? [r.repo.sha256] : [])));
    this.repoUploads = new RepoUploads({ log: o.log, activeShas, clock: o.clock, ...(o.archivesDir !== undefined ? { archivesDir: o.archivesDir } : {}) });
    this.loop = new TickLoop({ scheduler, intervalMs: o.tickMs, tick: () => this.tick(), onError: (e) => o.log(`reconcile error: ${(e as Error).stack ?? e}`) });
    this.records = new ReplicaRecords({ store: o.store, events: o.events, changed: () => this.kick() });
    const placer = new FleetPlacer({ store: o.store, ...(o.defaultProject ? { defaultProject: o.defaultProject } : {}), updateReplica: (id, fn) => this.updateReplica(id, fn) });
    this.agents = new AgentConnections<C>({
      backend: o.backend,
      scheduler,
      log: o.log,
      connected: () => this.syncRoutes(),
      events: {
        snapshot: (instance, replicas) => {
          o.onInstanceSnapshot?.(instance);
          this.adoption.snapshot(instance, replicas);
        },
        replica: (instance, state) => this.adoption.replica(instance, state),
        removed: (_instance, id) => this.adoption.removed(id),
        lost: (instance, e) => o.onInstanceDisconnect?.(instance, e),
      },
    });
    this.effects = new Effects<C>({
      replicas: this.records,
      agents: this.agents,
      instances: () => o.backend.instances(),
      placement: {
        place: (run, replica) => (needsPlacement(replica, o.usesFleets !== undefined) ? placer.place(run, replica) : (replica.instance ?? 'local')),
        take: (id) => placer.take(id),
      },
      ...(o.resolveSpec ? { resolveSpec: o.resolveSpec } : {}),
      groupAddress: (run, ref) => this.groupAddress(run, ref),
      prepare: async (conn, run, spec) => {
        // The code archive goes to each host once (issue 8).
        if (spec.repo && run.repo) await this.repoUploads.ensure(conn.instance, conn.client, run.repo);
      },
      ...(o.routes.drain ? { drain: (id: string) => o.routes.drain!(id) } : {}),
      syncRoutes: () => this.syncRoutes(),
      scheduler,
      clock: o.clock,
      log: o.log,
    });
    this.adoption = new Adoption({
      store: o.store,
      replicas: this.records,
      busy: this.effects.busy,
      stopLeftover: (instance, id) => this.effects.stopLeftover(instance, id),
      clock: o.clock,
    });
  }

  /** Connects to the agents that hold active replicas (a restart adopts them), then ticks until closed. */
  async start(): Promise<() => Promise<void>> {
    // Replicas still waiting for placement (no instance yet, fleets) hold no agent to adopt.
    const placed = (x: ReplicaRecord) => x.instance !== undefined || x.status !== 'submitted';
    const instances = new Set(this.activeRuns().flatMap((r) => r.replicas.filter(placed).map((x) => x.instance ?? 'local')));
    // Together: a restart serves again once the slowest host answered, not after the sum of them.
    await Promise.all([...instances].map((instance) => this.connect(instance).catch((e: unknown) => this.o.log(`agent ${instance}: ${(e as Error).message}`))));
    this.syncRoutes();
    this.loop.start();
    return () => this.close();
  }

  /**
   * Routes from stored state alone, before any agent is reconnected: services that served before a restart hold their
   * requests (routes `warming`) until `start()` has their hosts back, so the daemon can listen at once.
   */
  warmRoutes(): void {
    syncRoutes(this.o.routes, this.o.store.runs(), { readTimeoutMs: this.o.readTimeoutMs, connection: () => undefined, warming: true });
  }

  /** `listener` runs after every tick (the prober probes then); returns the unsubscribe. */
  onTick(listener: () => void): () => void {
    this.tickListeners.add(listener);
    return () => this.tickListeners.delete(listener);
  }

  /** Asks for a tick now (coalesced with one already running). */
  kick(): void {
    this.loop.kick();
  }

  connection(instance: string): C | undefined {
    return this.agents.get(instance);
  }

  connect(instance: string): Promise<C> {
    return this.agents.connect(instance);
  }

  /** Applies `fn` to the record of replica `id` (wherever it is) and stores a real change; false: no such replica. */
  updateReplica(id: string, fn: ReplicaUpdate): boolean {
    return this.records.update(id, fn) !== undefined;
  }

  findReplica(id: string): { run: RunRecord; replica: ReplicaRecord } | undefined {
    return this.records.find(id);
  }

  /** Drops an instance leaving its fleet; replicas still there (a forced delete) fail and are replaced elsewhere. */
  /**
   * The address other replicas reach replica j of group i at: its container's on the host's Docker network, or the
   * host's loopback for a process. Undefined until that replica (its latest submission) runs.
   */
  private async groupAddress(run: RunRecord, ref: GroupIpRef): Promise<string | undefined> {
    const group = groupStates(run)[ref.group];
    if (!group || ref.replica >= group.replicas.max) return undefined;
    const current = this.o.store.runs().find((r) => r.id === run.id) ?? run;
    const num = group.firstNum + ref.replica;
    const replica = current.replicas.filter((r) => r.num === num && isActive(r)).sort((a, b) => b.submission - a.submission)[0];
    if (replica?.status !== 'running') return undefined;
    const state = await this.agents.get(replica.instance ?? 'local')?.client.getReplica(replica.id);
    if (!state) return undefined;
    return state.address ?? (state.runtime === 'process' ? '127.0.0.1' : undefined);
  }

  forgetInstance(instance: string, why?: string): void {
    this.carryOut(decideInstanceRemoved(this.o.store.runs(), instance, why), this.o.clock());
    this.agents.forget(instance);
  }

  syncRoutes(): void {
    const unreachable = new Set(this.o.store.instances().flatMap((i) => (i.unreachable ? [i.name] : [])));
    const options = {
      readTimeoutMs: this.o.readTimeoutMs,
      // A replica on an unreachable host leaves the route table at once (host loss).
      connection: (i: string) => (unreachable.has(i) ? undefined : this.agents.get(i)),
    };
    syncRoutes(this.o.routes, this.o.store.runs(), options, this.routeCache);
  }

  /** Runs decided on since the start (steady runs are skipped: steady.ts); for tests and benches. */
  decisions(): number {
    return this.decided;
  }

  private async tick(): Promise<void> {
    const now = this.o.clock();
    const { store } = this.o;
    this.carryOut(decideHostLoss({ runs: store.runs(), instances: store.instances(), now, windowMs: this.o.hostLossMs ?? 30_000 }), now);
    const effects: Effect[] = [];
    const active = this.activeRuns();
    const single = { kind: this.o.backend.kind, instance: this.o.backend.instances()[0] };
    let spot: string | undefined;
    for (const run of active) {
      const target = replicaTarget(this.o.usesFleets?.(run.config.backends, run.project), single);
      // A dynamic fallback also reads which spot instances could not be made (spot-fallback.ts).
      const dynamic = fallbackPolicy(run.config)?.dynamic === true;
      if (dynamic) spot ??= [...spotUnavailable(store.instances())].sort().join(',');
      const inputs = `${target.backend} ${target.instance ?? ''}${dynamic ? ` ${spot}` : ''}`;
      if (this.steady.isSteady(run, inputs, now)) continue;
      const grace = this.o.unhealthyGraceMs;
      const ctx = { now, backoffBaseMs: this.o.backoffBaseMs, crashLoopLimit: this.o.crashLoopLimit, ...target, ...(grace !== undefined ? { unhealthyGraceMs: grace } : {}) };
      const stored = this.records.updateRun(
        run.id,
        (current) => {
          this.decided++;
          const decision = reconcileWithFallback(current, ctx, () => store.instances());
          this.steady.decided(current, decision, inputs, ctx);
          effects.push(...decision.effects);
          return decision.run;
        },
        false,
      );
      if (stored && stored.status !== run.status) this.o.log(`run ${run.name}: ${run.status} → ${stored.status}`);
    }
    this.steady.retain(active);
    for (const effect of effects) this.effects.execute(effect);
    this.syncRoutes();
    for (const listener of this.tickListeners) listener();
  }

  private carryOut(actions: HostLossAction[], now: number): void {
    for (const action of actions) {
      this.records.update(action.replicaId, (r) => {
        const next = applyHostLoss(r, action, now);
        if (next !== r && action.type === 'fail') this.o.log(`replica ${r.id}: ${action.error}; replacing it`);
        return next;
      });
    }
  }

  private activeRuns(): RunRecord[] {
    return this.o.store.runs().filter((r) => !isRunFinished(r));
  }

  private async close(): Promise<void> {
    await this.loop.close();
    await this.agents.close();
  }
}
