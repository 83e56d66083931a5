/**
 * Capacity providers behind one interface (DESIGN.md §5): local now, SSH fleets and clouds later. The daemon
 * asks a backend for offers, then for a connection to the agent of an instance; everything else (starting,
 * stopping, logs) goes through that agent connection, so the reconciler does not care where a replica runs.
 */
import type { Dispatcher } from 'undici';
import type { Offer } from '../core/api.js';
import type { AgentClient } from './agent-client.js';

export type { Requirements } from '../core/runs/requirements.js';
import type { Requirements } from '../core/runs/requirements.js';

export interface AgentConnection {
  /** Instance name in state (`local` for the local backend). */
  instance: string;
  client: AgentClient;
  /** How the proxy and prober reach a replica's published port on that host. */
  replicaOrigin(hostPort: number): { origin: string; dispatcher?: Dispatcher };
  /** Releases the connection (not the agent: it keeps running). */
  close(): Promise<void>;
}

export interface Backend {
  readonly kind: string;
  /** Offers for `requirements`, with availability; an offer the instance cannot satisfy is `not available`. */
  offers(requirements: Requirements): Promise<Offer[]>;
  /** Instances this backend provides without provisioning (the local machine, SSH hosts). */
  instances(): string[];
  /** Makes sure the instance's agent runs and is current; reuses a running one. */
  ensureAgent(instance: string): Promise<AgentConnection>;
  /** Forgets a cached agent connection that stopped answering, so the next ensureAgent checks (and restarts) it. */
  reset?(instance: string): void;
  /** Closes connections; agents and replicas keep running. */
  close(): Promise<void>;
}
