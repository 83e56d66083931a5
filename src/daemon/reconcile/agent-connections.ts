/**
 * One open connection and one event watch per instance the loop works with. A connection whose event stream broke
 * is kept but marked stale: replica origins still work while the agent is away (routing goes on), and the next use
 * asks the backend again (the local backend restarts a dead agent, the SSH one reconnects).
 */
import type { AgentClient } from '../../backends/agent-client.js';
import type { AgentConnection, Backend } from '../../backends/backend.js';
import type { ReplicaState } from '../../core/model/agent-api.js';
import type { Log } from '../process/log.js';
import { AgentWatch } from './agent-watch.js';
import type { Scheduler } from './scheduler.js';

/** The agent calls the loop makes. */
export type AgentOps = Pick<AgentClient, 'createReplica' | 'getReplica' | 'stopReplica' | 'events' | 'hasArchive' | 'uploadArchive'>;

/** An agent connection as the loop uses it: a backend's `AgentConnection`, or an in-memory agent in tests. */
export interface AgentLink extends Pick<AgentConnection, 'instance' | 'replicaOrigin' | 'close'> {
  client: AgentOps;
}

/** What the loop needs of a `Backend`. */
export interface AgentSource<C extends AgentLink = AgentConnection> extends Pick<Backend, 'kind' | 'instances' | 'reset' | 'close'> {
  ensureAgent(instance: string): Promise<C>;
}

export interface AgentEvents {
  snapshot(instance: string, replicas: ReplicaState[]): void;
  replica(instance: string, state: ReplicaState): void;
  removed(instance: string, id: string): void;
  /** The agent's stream failed again right after a reconnect: the host is gone, not merely restarting its stream. */
  lost(instance: string, e: Error): void;
}

export interface AgentConnectionsOptions<C extends AgentLink> {
  backend: AgentSource<C>;
  events: AgentEvents;
  /** A new connection gives new replica origins: the route table must learn them. */
  connected: () => void;
  scheduler: Scheduler;
  log: Log;
}

export class AgentConnections<C extends AgentLink> {
  private readonly connections = new Map<string, C>();
  private readonly watches = new Map<string, AgentWatch>();
  private readonly stale = new Set<string>();
  /** Consecutive failed event streams per instance (a snapshot resets it). */
  private readonly failures = new Map<string, number>();
  private closed = false;

  constructor(private readonly o: AgentConnectionsOptions<C>) {}

  get(instance: string): C | undefined {
    return this.connections.get(instance);
  }

  /** The instance's connection, opened (or renewed when stale) as needed, with its event watch running. */
  async connect(instance: string): Promise<C> {
    const conn = await this.ensure(instance);
    if (!this.watches.has(instance) && !this.closed) {
      const watch = new AgentWatch({
        connect: () => this.ensure(instance),
        onSnapshot: (replicas) => {
          this.failures.delete(instance);
          this.o.events.snapshot(instance, replicas);
        },
        onReplica: (state) => this.o.events.replica(instance, state),
        onRemoved: (id) => this.o.events.removed(instance, id),
        onDisconnect: (e) => this.disconnected(instance, e),
        log: this.o.log,
        scheduler: this.o.scheduler,
      });
      this.watches.set(instance, watch);
      watch.start();
    }
    return conn;
  }

  /** Drops the instance's watch and connection (its host left the fleet). */
  forget(instance: string): void {
    this.watches.get(instance)?.stop();
    this.watches.delete(instance);
    const conn = this.connections.get(instance);
    this.connections.delete(instance);
    this.stale.delete(instance);
    this.failures.delete(instance);
    void conn?.close();
  }

  /** Stops every watch and closes every connection, then the backend's (agents and replicas keep running). */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.watches.values()) w.stop();
    for (const c of this.connections.values()) await c.close();
    await this.o.backend.close();
  }

  private async ensure(instance: string): Promise<C> {
    const known = this.connections.get(instance);
    if (known && !this.stale.has(instance)) return known;
    const conn = await this.o.backend.ensureAgent(instance);
    this.stale.delete(instance);
    this.connections.set(instance, conn);
    if (known && known !== conn) void known.close();
    this.o.connected();
    return conn;
  }

  private disconnected(instance: string, e: unknown): void {
    const error = e instanceof Error ? e : new Error(String(e));
    this.o.log(`agent ${instance} disconnected: ${error.message}`);
    // A stream that merely ended reconnects at once; only a reconnect that fails too means the host is lost.
    const failures = (this.failures.get(instance) ?? 0) + 1;
    this.failures.set(instance, failures);
    if (failures >= 2) this.o.events.lost(instance, error);
    this.stale.add(instance);
    this.o.backend.reset?.(instance);
  }
}
