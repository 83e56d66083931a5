/**
 * The local backend (DESIGN.md §2): the machine the daemon runs on, reached through an agent started as a
 * detached child on 127.0.0.1. Replica ports are published on 127.0.0.1, so the origin is direct.
 */
import type { Offer } from '../../core/api.js';
import { UserError } from '../../core/errors.js';
import type { AgentConnection, Backend, Requirements } from '../backend.js';
import { connectTcp } from '../tcp.js';
import { ensureLocalAgent, type LocalAgent } from './agent-process.js';
import { localOffer } from './offers.js';

export interface LocalBackendOptions {
  /** DSTACK_HOME/server/local-agent */
  dir: string;
  version: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export const LOCAL_INSTANCE = 'local';

export class LocalBackend implements Backend {
  readonly kind = 'local';
  private agent: Promise<LocalAgent> | undefined;

  constructor(private readonly options: LocalBackendOptions) {}

  instances(): string[] {
    return [LOCAL_INSTANCE];
  }

  async offers(requirements: Requirements): Promise<Offer[]> {
    const { client } = await this.connect();
    return [localOffer(await client.host(), requirements)];
  }

  async ensureAgent(instance: string): Promise<AgentConnection> {
    if (instance !== LOCAL_INSTANCE) throw new UserError('UNKNOWN_INSTANCE', `the local backend has no instance ${instance}`);
    const agent = await this.connect();
    return {
      instance,
      client: agent.client,
      replicaOrigin: (hostPort) => ({ origin: `http://127.0.0.1:${hostPort}` }),
      openTcp: (host, port) => connectTcp(host, port),
      close: async () => {},
    };
  }

  /** Forgets the current agent (it stopped answering) so the next call checks or restarts it. */
  reset(_instance?: string): void {
    const previous = this.agent;
    this.agent = undefined;
    void previous?.then((a) => a.client.close()).catch(() => {});
  }

  async close(): Promise<void> {
    const agent = await this.agent?.catch(() => undefined);
    this.agent = undefined;
    await agent?.client.close();
  }

  private connect(): Promise<LocalAgent> {
    if (!this.agent) {
      const started = ensureLocalAgent(this.options);
      this.agent = started;
      started.catch(() => {
        if (this.agent === started) this.agent = undefined;
      });
    }
    return this.agent;
  }
}
