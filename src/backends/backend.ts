/**
 * Capacity providers by capability (DESIGN.md §5). Every backend is a `Backend`: the daemon asks it for offers, then
 * for a connection to the agent of an instance; everything else (starting, stopping, logs) goes through that agent
 * connection, so the reconciler does not care where a replica runs. Backends whose instances come and go (SSH
 * fleets now, cloud VMs next) are also a `Provisioner`: they bring an instance in and take it out again.
 */
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Offer } from '../core/api.js';
import type { ProvisionProgress, SshTarget } from '../core/fleets/types.js';
import type { HostInfo } from '../core/model/agent-api.js';
import type { CloudInstanceRecord } from '../core/state/schema.js';
import type { AgentClient } from './agent-client.js';

export type { Requirements } from '../core/runs/requirements.js';
import type { Requirements } from '../core/runs/requirements.js';

export interface AgentConnection {
  /** Instance name in state (`local` for the local backend). */
  instance: string;
  client: AgentClient;
  /** How the proxy and prober reach a replica's published port on that host. */
  replicaOrigin(hostPort: number): { origin: string; dispatcher?: Dispatcher };
  /**
   * A TCP stream to `host:port` as the instance itself sees it (its loopback, or a container's address on its Docker
   * network), for `dstack attach`. Fails with the socket codes ECONNREFUSED (nothing listens) or EHOSTUNREACH.
   */
  openTcp?(host: string, port: number): Promise<Duplex>;
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

/** What bringing one instance in gives back: the host as its agent reports it. */
export interface ProvisionResult {
  host: HostInfo;
  agentVersion: string;
  /** The SSH host key's fingerprint, as stored in known_hosts. */
  fingerprint: string;
  /** Cloud instances: the VM as created (with its address). */
  cloud?: CloudInstanceRecord;
}

/**
 * Brings instances in and takes them out. An SSH fleet's instance is a host the user owns, bootstrapped over SSH
 * (prerequisites, agent install and start); a cloud backend creates the VM first and then bootstraps it the same way.
 */
export interface Provisioner<Target = SshTarget> {
  readonly kind: string;
  /** The instances to keep connections to (joined, being provisioned or torn down); the others are dropped. */
  setTargets(targets: Target[]): void;
  provision(target: Target, onProgress: (p: ProvisionProgress) => void, signal?: AbortSignal): Promise<ProvisionResult>;
  /** Takes the instance out and leaves it clean (its replicas stopped, the agent and its files gone). */
  teardown(target: Target): Promise<void>;
}
