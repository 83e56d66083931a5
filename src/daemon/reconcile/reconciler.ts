/**
 * The control loop (DESIGN.md §2): every tick (and at once on agent events and API changes) each active run goes
 * through the pure `reconcileRun`, its new record is stored and its effects are carried out on the agents.
 * One operation per replica at a time (a stop waits for a start in flight); effects are idempotent, so a
 * decision repeated on the next tick is harmless.
 */
import type { Backend, AgentConnection } from '../../backends/backend.js';
import { DstackError } from '../../core/errors.js';
import {
  applyAgentRemoved,
  applyAgentState,
  applyStartFailure,
  reconcileRun,
  type Effect,
} from '../../core/reconcile/index.js';
import type { RunRecord, ReplicaRecord } from '../../core/state/schema.js';
import type { StateStore } from '../../core/state/store.js';
import type { ReplicaSpecInput, ReplicaState } from '../../core/model/agent-api.js';
import { isActive } from '../../core/reconcile/index.js';
import type { RouteTable } from '../../proxy/contracts.js';
import { AgentWatch } from './agent-watch.js';
import type { RunEvents } from '../api/events.js';
import type { Log } from '../process/log.js';
import { FleetPlacer, type PlacementConfig } from '../fleets/placement.js';
import { RepoUploads } from './repo-upload.js';
import { syncRoutes } from './routes-sync.js';

export interface ReconcilerOptions {
  store: StateStore;
  backend: Backend;
  routes: RouteTable & { drain?(replicaId: string): Promise<void> };
  events: RunEvents;
  log: Log;
  clock: () => number;
  tickMs: number;
  backoffBaseMs: number;
  crashLoopLimit: number;
  readTimeoutMs: number;
  /** Runs after each tick (the prober hooks in here). */
  afterTick?: () => void;
  /**
   * SSH fleets (src/backends/composite.ts): whether a run with these `backends:` goes to fleet instances.
   * Absent = every replica runs on the backend's first instance, as before fleets.
   */
  usesFleets?: (backends: string[] | undefined) => boolean;
  /** How long a host may stay unreachable before its replicas fail over to other hosts (default 30 s). */
  hostLossMs?: number;
  /** An agent's event stream broke (the fleet marks the host unreachable until its snapshot arrives again). */
  onInstanceDisconnect?: (instance: string, e: Error) => void;
  /** An agent's snapshot arrived: the host answers again. */
  onInstanceSnapshot?: (instance: string) => void;
}


const isDone = (run: RunRecord) => run.status === 'terminated' || run.status === 'failed' || run.status === 'done';

export class Reconciler {
  private readonly busy = new Set<string>();
  private readonly connections = new Map<string, AgentConnection>();
  private readonly watches = new Map<string, AgentWatch>();
  private readonly stale = new Set<string>();
  /** Consecutive failed agent event streams per instance (host loss, see onDisconnect). */
  private readonly disconnects = new Map<string, number>();
  /** Placement limits decided for replicas about to start (the record keeps instance, blocks and GPU ids). */
  private readonly placer: FleetPlacer;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;

  readonly repoUploads: RepoUploads;

  constructor(private readonly o: ReconcilerOptions) {
    const activeShas = () => new Set(this.o.store.runs().flatMap((r) => (!isDone(r) && r.repo ? [r.repo.sha256] : [])));
    this.repoUploads = new RepoUploads({ log: (line) => this.o.log(line), activeShas, clock: () => this.o.clock() });
    this.placer = new FleetPlacer({ store: this.o.store, updateReplica: (id, fn) => this.updateReplica(id, fn) });
  }

  /** Connects to the agents that hold active replicas (restart: adopt them), then ticks forever. */
  async start(): Promise<() => Promise<void>> {
    // Replicas still waiting for placement (no instance yet, fleets) hold no agent to adopt.
    const placed = (x: ReplicaRecord) => x.instance !== undefined || x.status !== 'submitted';
    const instances = new Set(this.activeRuns().flatMap((r) => r.replicas.filter(placed).map((x) => x.instance ?? 'local')));
    for (const instance of instances) await this.connect(instance).catch((e) => this.o.log(`agent ${instance}: ${(e as Error).message}`));
    this.syncRoutes();
    const loop = (): void => {
      this.timer = setTimeout(() => {
        this.kick();
        if (!this.closed) loop();
      }, this.o.tickMs);
    };
    loop();
    this.kick();
    return () => this.close();
  }

  /** Schedules a tick now (coalesced with one already running). */
  kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.tick()
      .catch((e) => this.o.log(`reconcile error: ${(e as Error).stack ?? e}`))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  connection(instance: string): AgentConnection | undefined {
    return this.connections.get(instance);
  }

  async connect(instance: string): Promise<AgentConnection> {
    const conn = await this.ensureConnection(instance);
    if (!this.watches.has(instance) && !this.closed) {
      const watch = new AgentWatch({
        connect: () => this.ensureConnection(instance),
        onSnapshot: (replicas) => this.onSnapshot(instance, replicas),
        onReplica: (state) => this.onReplica(instance, state),
        onRemoved: (id) => this.onRemoved(id),
        onDisconnect: (e) => this.onDisconnect(instance, e),
        log: this.o.log,
      });
      this.watches.set(instance, watch);
      watch.start();
    }
    return conn;
  }

  private async ensureConnection(instance: string): Promise<AgentConnection> {
    const known = this.connections.get(instance);
    if (known && !this.stale.has(instance)) return known;
    const conn = await this.o.backend.ensureAgent(instance);
    this.stale.delete(instance);
    this.connections.set(instance, conn);
    if (known && known !== conn) void known.close();
    this.syncRoutes();
    return conn;
  }

  private async tick(): Promise<void> {
    const now = this.o.clock();
    const effects: Effect[] = [];
    this.failLostReplicas(now);
    for (const run of this.activeRuns()) {
      const fleets = this.o.usesFleets?.((run.config as PlacementConfig).backends);
      const decision = reconcileRun(run, {
        now,
        backoffBaseMs: this.o.backoffBaseMs,
        crashLoopLimit: this.o.crashLoopLimit,
        // With fleets, place() picks the instance when the replica starts.
        ...(fleets ? { backend: 'ssh' } : this.o.usesFleets ? { backend: 'local', instance: 'local' } : { backend: this.o.backend.kind, instance: this.o.backend.instances()[0] ?? 'local' }),
      });
      if (JSON.stringify(decision.run) !== JSON.stringify(run)) {
        this.replaceRun(decision.run);
        if (decision.run.status !== run.status) this.o.log(`run ${run.name}: ${run.status} → ${decision.run.status}`);
      }
      effects.push(...decision.effects);
    }
    for (const effect of effects) this.execute(effect);
    this.syncRoutes();
    this.o.afterTick?.();
  }

  syncRoutes(): void {
    syncRoutes(this.o.routes, this.o.store.runs(), {
      readTimeoutMs: this.o.readTimeoutMs,
      // A replica on an unreachable host leaves the route table at once (host loss).
      connection: (i) => (this.unreachable(i) ? undefined : this.connections.get(i)),
    });
  }

  /**
   * Drops an instance's watch and connection (its fleet host is being taken out); replicas still there (a forced
   * delete) fail with `instance_terminated` so they are replaced elsewhere.
   */
  forgetInstance(instance: string): void {
    this.failReplicasOn(instance, 'instance_terminated', `instance ${instance} was removed from its fleet`, this.o.clock());
    this.watches.get(instance)?.stop();
    this.watches.delete(instance);
    const conn = this.connections.get(instance);
    this.connections.delete(instance);
    this.stale.delete(instance);
    this.disconnects.delete(instance);
    void conn?.close();
  }

  private unreachable(instance: string): boolean {
    return this.o.store.instances().some((i) => i.name === instance && i.unreachable);
  }

  /**
   * Host loss: once a host has been unreachable for the loss window, its replicas fail (`instance_unreachable`) so
   * the decisions replace them elsewhere (placement skips unavailable hosts). When the host returns, its agent's
   * snapshot shows these replicas as leftovers and they are stopped (onReplica), so no duplicates remain.
   */
  private failLostReplicas(now: number): void {
    const window = this.o.hostLossMs ?? 30_000;
    // `dstack ps` shows why a replica stopped serving while its host is away (the agent's next state clears it).
    for (const i of this.o.store.instances().filter((x) => x.unreachable)) {
      for (const run of this.activeRuns()) {
        for (const r of run.replicas.filter((x) => x.instance === i.name && isActive(x) && x.statusMessage !== 'instance unreachable')) {
          this.updateReplica(r.id, (x) => ({ ...x, statusMessage: 'instance unreachable' }));
        }
      }
    }
    const lost = this.o.store.instances().filter((i) => i.unreachable && i.unreachableSince !== undefined && now - i.unreachableSince >= window);
    for (const instance of lost) this.failReplicasOn(instance.name, 'instance_unreachable', `instance ${instance.name} is unreachable`, now);
  }

  private failReplicasOn(instance: string, reason: string, error: string, now: number): void {
    for (const run of this.activeRuns()) {
      for (const r of run.replicas.filter((x) => x.instance === instance && isActive(x))) {
        this.o.log(`replica ${r.id}: ${error}; replacing it`);
        this.updateReplica(r.id, (x) => ({ ...x, status: 'failed', ready: false, reason, error, finishedAt: now }));
      }
    }
  }

  private activeRuns(): RunRecord[] {
    return this.o.store.runs().filter((r) => !isDone(r));
  }

  private replaceRun(next: RunRecord): void {
    this.o.store.updateRun(next.id, () => next);
    this.o.events.notify(next.id);
  }

  /** Applies `fn` to the record of replica `id` (wherever it is) and stores the result. */
  updateReplica(id: string, fn: (r: ReplicaRecord, run: RunRecord) => ReplicaRecord): boolean {
    const found = this.findReplica(id);
    if (!found) return false;
    const next = fn(found.replica, found.run);
    if (next === found.replica || JSON.stringify(next) === JSON.stringify(found.replica)) return true;
    this.replaceRun({ ...found.run, replicas: found.run.replicas.map((r) => (r.id === id ? next : r)) });
    this.kick();
    return true;
  }

  findReplica(id: string): { run: RunRecord; replica: ReplicaRecord } | undefined {
    for (const run of this.o.store.runs()) {
      const replica = run.replicas.find((r) => r.id === id);
      if (replica) return { run, replica };
    }
    return undefined;
  }

  private execute(effect: Effect): void {
    if (this.busy.has(effect.replicaId)) return;
    this.busy.add(effect.replicaId);
    const op =
      effect.type === 'start' ? this.startReplica(effect.replicaId) : effect.type === 'stop' ? this.stopReplica(effect) : this.removeReplica(effect.replicaId);
    void op
      .catch((e) => this.o.log(`${effect.type} ${effect.replicaId}: ${(e as Error).message}`))
      .finally(() => this.busy.delete(effect.replicaId));
  }

  private async startReplica(id: string): Promise<void> {
    const found = this.findReplica(id);
    if (!found || found.replica.status !== 'submitted') return;
    const instance = this.place(found.run, found.replica);
    if (instance === undefined) return;
    this.updateReplica(id, (r) => ({ ...r, status: 'provisioning', instance }));
    try {
      const conn = await this.connect(instance);
      const spec = this.specFor(found.run, found.replica);
      const placed = this.placer.take(id);
      if (placed?.gpus) spec.gpus = placed.gpus;
      if (placed?.cpuLimit !== undefined) spec.cpuLimit = placed.cpuLimit;
      if (placed?.memoryLimitBytes !== undefined) spec.memoryLimitBytes = Math.floor(placed.memoryLimitBytes);
      await this.prepareInstance(conn, found.run, spec);
      this.o.log(`starting replica ${id} on ${instance}`);
      const state = await conn.client.createReplica(spec);
      this.updateReplica(id, (r) => applyAgentState(r, state, this.o.clock()));
    } catch (e) {
      const err = e instanceof DstackError ? e : undefined;
      if (err?.status === 409) {
        const conn = this.connections.get(instance);
        const state = await conn?.client.getReplica(id).catch(() => undefined);
        if (state) return void this.updateReplica(id, (r) => applyAgentState(r, state, this.o.clock()));
      }
      this.o.log(`replica ${id} failed to start: ${(e as Error).message}`);
      this.updateReplica(id, (r) => applyStartFailure(r, err?.code ?? 'EXECUTOR_ERROR', (e as Error).message, this.o.clock()));
    }
  }

  /** Where a submitted replica runs: this machine, or a fleet instance picked by the placer (issue 5). */
  private place(run: RunRecord, replica: ReplicaRecord): string | undefined {
    if (!this.o.usesFleets || replica.backend !== 'ssh') return replica.instance ?? 'local';
    return this.placer.place(run, replica);
  }

  /** The agent spec of one replica: its replica group's template (a run without groups has one). */
  private specFor(run: RunRecord, replica: ReplicaRecord): ReplicaSpecInput {
    const template = (replica.group !== undefined ? run.specTemplates?.[replica.group] : undefined) ?? run.specTemplate;
    return { ...template, id: replica.id, replicaNum: replica.num };
  }

  /** What the instance needs before the replica can start there (issue 8: the code archive, once per host). */
  private async prepareInstance(conn: AgentConnection, run: RunRecord, spec: ReplicaSpecInput): Promise<void> {
    if (spec.repo && run.repo) await this.repoUploads.ensure(conn.instance, conn.client, run.repo);
  }

  private async stopReplica(effect: Extract<Effect, { type: 'stop' }>): Promise<void> {
    const found = this.findReplica(effect.replicaId);
    if (!found) return;
    const instance = found.replica.instance ?? 'local';
    if (!this.o.backend.instances().includes(instance)) return void this.updateReplica(effect.replicaId, (r) => applyAgentRemoved(r, this.o.clock()));
    this.syncRoutes();
    if (!effect.abort && this.o.routes.drain) {
      // In-flight requests finish before the container gets SIGTERM (bounded by stop_duration).
      await Promise.race([this.o.routes.drain(effect.replicaId), delay(Math.max(1, effect.timeoutSeconds) * 1000)]);
    }
    const conn = await this.connect(instance);
    this.o.log(`stopping replica ${effect.replicaId} (${effect.abort ? 'abort' : `timeout ${effect.timeoutSeconds}s`})`);
    try {
      const state = await conn.client.stopReplica(effect.replicaId, effect.timeoutSeconds);
      this.updateReplica(effect.replicaId, (r) => ({ ...applyAgentState(r, state, this.o.clock()), removed: true }));
    } catch (e) {
      if (e instanceof DstackError && e.status === 404) {
        this.updateReplica(effect.replicaId, (r) => applyAgentRemoved(r, this.o.clock()));
        return;
      }
      await delay(1_000);
      throw e;
    }
  }

  /** Removes a finished replica's container on its agent (idempotent; unknown → already gone). */
  private async removeReplica(id: string): Promise<void> {
    const instance = this.findReplica(id)?.replica.instance ?? 'local';
    // Its host left the fleet (torn down, containers removed with it): nothing is left to remove.
    if (!this.o.backend.instances().includes(instance)) return void this.updateReplica(id, (r) => ({ ...r, removed: true }));
    const conn = await this.connect(instance);
    try {
      await conn.client.stopReplica(id, 0);
    } catch (e) {
      if (!(e instanceof DstackError && e.status === 404)) {
        await delay(1_000);
        throw e;
      }
    }
    this.updateReplica(id, (r) => ({ ...r, removed: true }));
  }

  private onSnapshot(instance: string, replicas: ReplicaState[]): void {
    this.disconnects.delete(instance);
    this.o.onInstanceSnapshot?.(instance);
    const seen = new Map(replicas.map((r) => [r.id, r]));
    const now = this.o.clock();
    for (const run of this.o.store.runs()) {
      for (const r of run.replicas) {
        if ((r.instance ?? 'local') !== instance || r.status === 'submitted' || this.busy.has(r.id)) continue;
        const state = seen.get(r.id);
        if (state) this.updateReplica(r.id, (x) => applyAgentState(x, state, now));
        else if (!['terminated', 'aborted', 'failed', 'done'].includes(r.status)) this.updateReplica(r.id, (x) => applyAgentRemoved(x, now));
      }
    }
    for (const state of replicas) this.onReplica(instance, state);
  }

  private onReplica(instance: string, state: ReplicaState): void {
    const found = this.findReplica(state.id);
    if (found && !['terminated', 'aborted', 'failed', 'done'].includes(found.replica.status)) {
      this.updateReplica(state.id, (r) => applyAgentState(r, state, this.o.clock()));
      return;
    }
    // The agent runs something the state does not want (a leftover): stop and remove it.
    if (state.phase === 'exited' || state.phase === 'failed') {
      if (found) return;
    }
    if (this.busy.has(state.id)) return;
    const conn = this.connections.get(instance);
    if (!conn) return;
    this.busy.add(state.id);
    this.o.log(`stopping leftover replica ${state.id}`);
    void conn.client
      .stopReplica(state.id, 0)
      .catch(() => {})
      .finally(() => this.busy.delete(state.id));
  }

  private onRemoved(id: string): void {
    this.updateReplica(id, (r) => applyAgentRemoved(r, this.o.clock()));
  }

  /** Forget the connection: the next attempt asks the backend again (the local backend restarts a dead agent). */
  private onDisconnect(instance: string, e: unknown): void {
    this.o.log(`agent ${instance} disconnected: ${(e as Error)?.message ?? e}`);
    // A stream that merely ended reconnects at once; only a reconnect that fails too means the host is lost.
    const failures = (this.disconnects.get(instance) ?? 0) + 1;
    this.disconnects.set(instance, failures);
    if (failures >= 2) this.o.onInstanceDisconnect?.(instance, e instanceof Error ? e : new Error(String(e)));
    // The old connection still gives replica origins, so routing goes on while the agent is away.
    this.stale.add(instance);
    this.o.backend.reset?.(instance);
  }

  private async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const w of this.watches.values()) w.stop();
    await this.running;
    for (const c of this.connections.values()) await c.close();
    await this.o.backend.close();
  }
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
