/**
 * One Backend over any number of member backends (the local machine, SSH fleets, clouds), so the reconciler, prober
 * and control API keep talking to a single backend. An instance is routed to the member its state record names
 * (`InstanceRecord.backend`); an instance without a record (the local machine) goes to the member that lists it.
 *
 * Policy (as in dstack, where runs go to fleets): while any member other than `local` has an instance, a run that
 * does not say `backends: [local]` is placed on those instances only (`usesFleets`); with none, everything runs on
 * the local backend as before fleets existed. Cloud members (`createsInstances`) always give their catalog offers,
 * with or without instances: what they can still create belongs in every plan.
 */
import type { Offer } from '../core/api.js';
import { UserError } from '../core/errors.js';
import type { AgentConnection, Backend, Requirements } from './backend.js';

const LOCAL = 'local';

/** A member whose offers are instances it can still create (a cloud's catalog), listed even before it has any. */
export interface CreatesInstances {
  readonly createsInstances: true;
}

const createsInstances = (m: Backend): boolean => (m as Partial<CreatesInstances>).createsInstances === true;

export class CompositeBackend implements Backend {
  readonly kind = 'composite';

  /**
   * `members`: a list, or a function when they come and go (each project's clouds, issue 17). `backendOf`: the
   * backend an instance's state record names, if it has one. `owns`: one project's view, where fleet instances of
   * other projects are neither listed, offered nor counted (absent = every instance).
   */
  constructor(
    members: readonly Backend[] | (() => readonly Backend[]),
    private readonly backendOf: (instance: string) => string | undefined = () => undefined,
    private readonly owns: (instance: string) => boolean = () => true,
  ) {
    this.membersNow = typeof members === 'function' ? members : () => members;
  }

  private readonly membersNow: () => readonly Backend[];

  private get members(): readonly Backend[] {
    return this.membersNow();
  }

  instances(): string[] {
    return this.members.flatMap((m) => this.ownedBy(m));
  }

  /** Whether a run with `backends:` (undefined = not given) is placed on fleet instances. */
  usesFleets(backends: readonly string[] | undefined): boolean {
    if (this.fleetMembers().length === 0) return false;
    return !(backends !== undefined && backends.length > 0 && backends.every((b) => b === LOCAL));
  }

  async offers(requirements: Requirements): Promise<Offer[]> {
    const fleets = this.fleetMembers().filter((m) => !createsInstances(m));
    const clouds = this.members.filter(createsInstances);
    const local = this.members.filter((m) => m.kind === LOCAL);
    if (fleets.length === 0 && clouds.length === 0) return (await Promise.all(local.map((m) => m.offers(requirements)))).flat();
    // With fleets or clouds, a local agent that cannot start must not hide their offers.
    const lists = await Promise.all([
      ...fleets.map((m) => m.offers(requirements)),
      ...clouds.map((m) => m.offers(requirements)),
      ...local.map((m) => m.offers(requirements).catch((): Offer[] => [])),
    ]);
    return lists.flat().filter((o) => o.instance === undefined || o.backend === LOCAL || this.owns(o.instance));
  }

  ensureAgent(instance: string): Promise<AgentConnection> {
    return this.owner(instance).ensureAgent(instance);
  }

  reset(instance: string): void {
    this.owner(instance).reset?.(instance);
  }

  async close(): Promise<void> {
    await Promise.all(this.members.map((m) => m.close()));
  }

  private fleetMembers(): Backend[] {
    return this.members.filter((m) => m.kind !== LOCAL && this.ownedBy(m).length > 0);
  }

  private ownedBy(m: Backend): string[] {
    return m.kind === LOCAL ? m.instances() : m.instances().filter(this.owns);
  }

  private owner(instance: string): Backend {
    const kind = this.backendOf(instance);
    const owner =
      (kind !== undefined ? this.members.find((m) => m.kind === kind && m.instances().includes(instance)) : undefined) ??
      this.members.find((m) => m.instances().includes(instance));
    if (!owner) throw new UserError('UNKNOWN_INSTANCE', `no backend has an instance named ${instance}`);
    return owner;
  }
}
