/**
 * An in-memory agent and backend of our own interfaces (AgentOps, AgentSource) for driving the reconciler without
 * hosts: it records the calls it gets, answers like the agent (409 for a replica it has, 404 for one it does not,
 * errors rebuilt by `fromWire` as the real client does) and streams events, a snapshot first.
 */
import { fromWire } from '../../../src/core/errors.js';
import type { AgentEvent, ReplicaSpecInput, ReplicaState } from '../../../src/core/model/agent-api.js';
import type { AgentLink, AgentOps, AgentSource } from '../../../src/daemon/reconcile/agent-connections.js';

export class FakeAgent implements AgentOps {
  readonly calls: string[] = [];
  readonly replicas = new Map<string, ReplicaState>();
  private readonly streams = new Set<(e: AgentEvent) => void>();
  private nextPort = 41_000;

  constructor(readonly instance: string) {}

  /** A replica the agent holds already (adopted on restart, or a leftover). */
  holds(state: Pick<ReplicaState, 'id'> & Partial<ReplicaState>): void {
    this.replicas.set(state.id, { runName: 'svc', replicaNum: 0, project: 'main', runtime: 'docker', phase: 'running', createdAt: 0, ...state });
  }

  async createReplica(spec: ReplicaSpecInput): Promise<ReplicaState> {
    this.calls.push(`create ${spec.id}`);
    if (this.replicas.has(spec.id)) throw fromWire({ code: 'REPLICA_EXISTS', message: `${spec.id} exists` }, 409);
    const state: ReplicaState = { id: spec.id, runName: spec.runName, replicaNum: spec.replicaNum, project: spec.project ?? 'main', runtime: 'docker', phase: 'running', hostPort: this.nextPort++, createdAt: 0, startedAt: 0 };
    this.replicas.set(spec.id, state);
    return state;
  }

  async getReplica(id: string): Promise<ReplicaState> {
    const state = this.replicas.get(id);
    if (!state) throw fromWire({ code: 'REPLICA_NOT_FOUND', message: `${id} not found` }, 404);
    return state;
  }

  async stopReplica(id: string, timeoutSeconds: number): Promise<ReplicaState> {
    this.calls.push(`stop ${id} ${timeoutSeconds}`);
    const state = await this.getReplica(id);
    this.replicas.delete(id);
    return { ...state, phase: 'exited', exitCode: 143, finishedAt: 0 };
  }

  async *events(signal: AbortSignal): AsyncGenerator<AgentEvent> {
    const queue: AgentEvent[] = [{ type: 'snapshot', replicas: [...this.replicas.values()] }];
    let wake = (): void => {};
    const push = (e: AgentEvent) => {
      queue.push(e);
      wake();
    };
    this.streams.add(push);
    const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    try {
      while (!signal.aborted) {
        const next = queue.shift();
        if (next) {
          yield next;
          continue;
        }
        await Promise.race([new Promise<void>((resolve) => (wake = resolve)), aborted]);
      }
    } finally {
      this.streams.delete(push);
    }
  }

  /** Sends an event to every open stream. */
  emit(event: AgentEvent): void {
    for (const push of this.streams) push(event);
  }

  async hasArchive(): Promise<boolean> {
    return true;
  }

  async uploadArchive(): Promise<number> {
    return 0;
  }
}

export interface FakeLink extends AgentLink {
  client: FakeAgent;
}

/** A backend over fake agents; an instance listed in `down` refuses connections like a host that is away. */
export class FakeBackend implements AgentSource<FakeLink> {
  readonly kind = 'local';
  readonly agents = new Map<string, FakeAgent>();
  readonly down = new Set<string>();
  readonly resets: string[] = [];

  constructor(names: string[]) {
    for (const name of names) this.agents.set(name, new FakeAgent(name));
  }

  agent(name: string): FakeAgent {
    const agent = this.agents.get(name);
    if (!agent) throw new Error(`no fake agent ${name}`);
    return agent;
  }

  instances(): string[] {
    return [...this.agents.keys()];
  }

  async ensureAgent(instance: string): Promise<FakeLink> {
    if (this.down.has(instance)) throw new Error(`${instance} is unreachable`);
    return { instance, client: this.agent(instance), replicaOrigin: (port) => ({ origin: `http://127.0.0.1:${port}` }), close: async () => {} };
  }

  reset(instance: string): void {
    this.resets.push(instance);
  }

  async close(): Promise<void> {}
}
