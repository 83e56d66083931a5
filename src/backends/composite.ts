/**
 * One Backend over the local machine and the SSH fleet hosts, so the reconciler, prober and control API keep
 * talking to a single backend. Instances are routed by name: `local` to the local backend, fleet instances
 * (`<fleet>-<i>`) to the SSH backend. Offers are both lists concatenated.
 *
 * Policy (as in dstack, where runs go to fleets): while at least one SSH fleet instance exists, a run that does not
 * say `backends: [local]` is placed on fleet instances only (`usesFleets`); with no fleet, everything runs on the
 * local backend as before fleets existed.
 */
import type { Offer } from '../core/api.js';
import { UserError } from '../core/errors.js';
import type { AgentConnection, Backend, Requirements } from './backend.js';
import { LOCAL_INSTANCE } from './local/index.js';

export class CompositeBackend implements Backend {
  readonly kind = 'composite';

  constructor(
    private readonly local: Backend,
    private readonly ssh: Backend,
  ) {}

  instances(): string[] {
    return [...this.local.instances(), ...this.ssh.instances()];
  }

  /** Whether a run with `backends:` (undefined = not given) is placed on fleet instances. */
  usesFleets(backends: readonly string[] | undefined): boolean {
    if (this.ssh.instances().length === 0) return false;
    return !(backends !== undefined && backends.length > 0 && backends.every((b) => b === 'local'));
  }

  async offers(requirements: Requirements): Promise<Offer[]> {
    if (this.ssh.instances().length === 0) return this.local.offers(requirements);
    // With fleets, a local agent that cannot start must not hide the fleet's offers.
    const [local, ssh] = await Promise.all([this.local.offers(requirements).catch((): Offer[] => []), this.ssh.offers(requirements)]);
    return [...ssh, ...local];
  }

  ensureAgent(instance: string): Promise<AgentConnection> {
    return this.owner(instance).ensureAgent(instance);
  }

  reset(instance: string): void {
    this.owner(instance).reset?.(instance);
  }

  async close(): Promise<void> {
    await Promise.all([this.local.close(), this.ssh.close()]);
  }

  private owner(instance: string): Backend {
    if (instance === LOCAL_INSTANCE) return this.local;
    if (this.ssh.instances().includes(instance)) return this.ssh;
    throw new UserError('UNKNOWN_INSTANCE', `no backend has an instance named ${instance}`);
  }
}
