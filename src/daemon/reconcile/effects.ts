/**
 * Carries out the decisions' effects on the agents. One operation per replica at a time (a stop waits for a start in
 * flight: the replica is `busy` until its operation ends, and the decision is simply repeated on a later tick), so
 * every effect is idempotent: starting a replica the agent already has (409) adopts it; stopping or removing one it
 * no longer knows (404) means it is gone. A failed stop or remove waits a second before the replica is free again,
 * so an agent that keeps failing is not asked again on every tick.
 */
import { DstackError } from '../../core/errors.js';
import type { ReplicaSpecInput } from '../../core/model/agent-api.js';
import { applyAgentRemoved, applyAgentState, applyStartFailure, replicaSpec, type Effect, type PlacementLimits } from '../../core/reconcile/index.js';
import { fillGroupRefs, groupIpRefs, hasGroupRefs, type GroupIpRef } from '../../core/runs/group-refs.js';
import type { ReplicaRecord, RunRecord } from '../../core/state/schema.js';
import type { Log } from '../process/log.js';
import type { AgentLink } from './agent-connections.js';
import type { ReplicaRecords } from './replica-records.js';
import { sleep, type Scheduler } from './scheduler.js';

export interface Placement {
  /** The instance a submitted replica starts on, or undefined: it waits (its record says why) for a later tick. */
  place(run: RunRecord, replica: ReplicaRecord): string | undefined;
  /** The limits decided when it was placed, handed once to its start. */
  take(id: string): PlacementLimits | undefined;
}

export interface EffectsOptions<C extends AgentLink> {
  replicas: Pick<ReplicaRecords, 'find' | 'update'>;
  agents: { get(instance: string): C | undefined; connect(instance: string): Promise<C> };
  /** Instances the backend still has: on a host that left, nothing is left to stop or remove. */
  instances: () => string[];
  placement: Placement;
  /** Fills in what the stored spec only references (`${{ secrets.NAME }}`), just before the agent gets it. */
  resolveSpec?: (run: RunRecord, spec: ReplicaSpecInput) => ReplicaSpecInput;
  /** `${{ groups[i].replicas[j].IP_ADDRESS }}`: that replica's address once it runs (undefined: not yet). */
  groupAddress?: (run: RunRecord, ref: GroupIpRef) => Promise<string | undefined>;
  /** What the instance needs before the replica starts there (the run's code archive). */
  prepare: (conn: C, run: RunRecord, spec: ReplicaSpecInput) => Promise<void>;
  /** Resolves once the replica's in-flight requests finished (it already left the route table). */
  drain?: (replicaId: string) => Promise<void>;
  syncRoutes: () => void;
  scheduler: Scheduler;
  clock: () => number;
  log: Log;
}

const RETRY_PAUSE_MS = 1_000;

export class Effects<C extends AgentLink> {
  /** Replicas with an operation in flight (adoption leaves them to that operation's answer). */
  readonly busy = new Set<string>();

  constructor(private readonly o: EffectsOptions<C>) {}

  execute(effect: Effect): void {
    const op = () =>
      effect.type === 'start' ? this.start(effect.replicaId) : effect.type === 'stop' ? this.stop(effect) : this.remove(effect.replicaId);
    this.exclusive(effect.replicaId, `${effect.type} ${effect.replicaId}`, op);
  }

  /** Stops and removes what an agent runs that state does not want. */
  stopLeftover(instance: string, id: string): void {
    const conn = this.o.agents.get(instance);
    if (!conn) return;
    this.exclusive(id, `leftover ${id}`, async () => {
      this.o.log(`stopping leftover replica ${id}`);
      await conn.client.stopReplica(id, 0).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
    });
  }

  private exclusive(id: string, label: string, op: () => Promise<void>): void {
    if (this.busy.has(id)) return;
    this.busy.add(id);
    void op()
      .catch((e: unknown) => this.o.log(`${label}: ${(e as Error).message}`))
      .finally(() => this.busy.delete(id));
  }

  private now = (): number => this.o.clock();

  private async start(id: string): Promise<void> {
    const found = this.o.replicas.find(id);
    if (!found || found.replica.status !== 'submitted') return;
    // A replica whose commands name other replicas' addresses waits (submitted, saying for whom) until they run.
    const commands = await this.groupCommands(found.run, found.replica);
    if (commands && 'waiting' in commands) {
      const message = `waiting for ${commands.waiting.name}`;
      return void this.o.replicas.update(id, (r) => (r.status === 'submitted' && r.statusMessage !== message ? { ...r, statusMessage: message } : r));
    }
    const instance = this.o.placement.place(found.run, found.replica);
    if (instance === undefined) return;
    this.o.replicas.update(id, (r) => ({ ...r, status: 'provisioning', instance }));
    try {
      const conn = await this.o.agents.connect(instance);
      const template = { ...replicaSpec(found.run, found.replica, this.o.placement.take(id)), ...(commands ? { commands: commands.commands } : {}) };
      const spec = this.o.resolveSpec ? this.o.resolveSpec(found.run, template) : template;
      await this.o.prepare(conn, found.run, spec);
      this.o.log(`starting replica ${id} on ${instance}`);
      const state = await conn.client.createReplica(spec);
      this.o.replicas.update(id, (r) => applyAgentState(r, state, this.now()));
    } catch (e) {
      const err = e instanceof DstackError ? e : undefined;
      if (err?.status === 409) {
        // The agent has it already (a start repeated after a daemon restart): adopt what it runs.
        const state = await this.o.agents.get(instance)?.client.getReplica(id).catch(() => undefined);
        if (state) return void this.o.replicas.update(id, (r) => applyAgentState(r, state, this.now()));
      }
      this.o.log(`replica ${id} failed to start: ${(e as Error).message}`);
      this.o.replicas.update(id, (r) => applyStartFailure(r, err?.code ?? 'EXECUTOR_ERROR', (e as Error).message, this.now()));
    }
  }

  /** The replica's commands with `${{ groups[i].replicas[j].IP_ADDRESS }}` filled in; undefined when it has none. */
  private async groupCommands(run: RunRecord, replica: ReplicaRecord): Promise<ReturnType<typeof fillGroupRefs> | undefined> {
    const lookup = this.o.groupAddress;
    const commands = replicaSpec(run, replica).commands ?? [];
    if (!lookup || !hasGroupRefs(commands)) return undefined;
    const refs = commands.flatMap(groupIpRefs);
    const addresses = new Map(await Promise.all(refs.map(async (ref) => [ref.name, await lookup(run, ref).catch(() => undefined)] as const)));
    return fillGroupRefs(commands, (ref) => addresses.get(ref.name));
  }

  private async stop(effect: Extract<Effect, { type: 'stop' }>): Promise<void> {
    const id = effect.replicaId;
    const found = this.o.replicas.find(id);
    if (!found) return;
    const instance = found.replica.instance ?? 'local';
    if (!this.o.instances().includes(instance)) return void this.o.replicas.update(id, (r) => applyAgentRemoved(r, this.now()));
    this.o.syncRoutes();
    if (!effect.abort && this.o.drain) {
      // In-flight requests finish before the container gets SIGTERM (bounded by stop_duration).
      await Promise.race([this.o.drain(id), sleep(this.o.scheduler, Math.max(1, effect.timeoutSeconds) * 1000)]);
    }
    const conn = await this.o.agents.connect(instance);
    this.o.log(`stopping replica ${id} (${effect.abort ? 'abort' : `timeout ${effect.timeoutSeconds}s`})`);
    try {
      const state = await conn.client.stopReplica(id, effect.timeoutSeconds);
      this.o.replicas.update(id, (r) => {
        const next = applyAgentState(r, state, this.now());
        return next.removed ? next : { ...next, removed: true };
      });
    } catch (e) {
      if (isNotFound(e)) return void this.o.replicas.update(id, (r) => applyAgentRemoved(r, this.now()));
      await sleep(this.o.scheduler, RETRY_PAUSE_MS);
      throw e;
    }
  }

  /** Removes a finished replica's container (kept until now for `dstack logs`). */
  private async remove(id: string): Promise<void> {
    const instance = this.o.replicas.find(id)?.replica.instance ?? 'local';
    const removed = (r: ReplicaRecord): ReplicaRecord => (r.removed ? r : { ...r, removed: true });
    // Its host left the fleet (torn down, containers removed with it): nothing is left to remove.
    if (!this.o.instances().includes(instance)) return void this.o.replicas.update(id, removed);
    const conn = await this.o.agents.connect(instance);
    try {
      await conn.client.stopReplica(id, 0);
    } catch (e) {
      if (!isNotFound(e)) {
        await sleep(this.o.scheduler, RETRY_PAUSE_MS);
        throw e;
      }
    }
    this.o.replicas.update(id, removed);
  }
}

const isNotFound = (e: unknown): boolean => e instanceof DstackError && e.status === 404;
