/**
 * The hosts of SSH fleets coming and going, in the background: provisioning with its progress stored on the
 * instance record (pending → provisioning → idle, or terminated with its error), teardown (one per host at a time),
 * the fleet's status from its hosts, and which hosts the provisioner keeps connections to.
 */
import { DstackError } from '../../core/errors.js';
import { hostKey, resolveBlocks, type SshTarget } from '../../core/fleets/index.js';
import type { InstanceRecord } from '../../core/state/schema.js';
import type { FleetManagerOptions } from './fleets.js';
import { fleetTarget, instancesOf } from './fleets-state.js';

export interface FleetHostsOptions extends Pick<FleetManagerOptions, 'store' | 'ssh' | 'project' | 'log' | 'onCapacity' | 'onInstanceRemoved'> {
  /** A fleet's hosts changed: notify its watchers. */
  changed: (fleet: string) => void;
}

export class FleetHosts {
  private readonly provisioning = new Map<string, AbortController>();
  /** Hosts being torn down: one teardown per host at a time (a second would find its connection closed). */
  private readonly tearingDown = new Set<string>();

  constructor(private readonly o: FleetHostsOptions) {}

  /** Brings one host in, in the background: pending → provisioning (progress) → idle, or terminated with its error. */
  provision(target: SshTarget): void {
    const abort = new AbortController();
    this.provisioning.set(target.instance, abort);
    this.syncTargets();
    this.updateInstance(target.instance, ({ error: _, ...i }) => ({ ...i, status: 'provisioning' }));
    void this.o.ssh
      .provision(target, (p) => this.updateInstance(target.instance, (i) => ({ ...i, progress: p.message })), abort.signal)
      .then(
        (r) =>
          this.updateInstance(target.instance, ({ progress: _, ...i }) => ({
            ...i,
            status: 'idle',
            host: r.host,
            blocks: resolveBlocks(target.blocks, r.host.gpus.length),
          })),
        (e: unknown) => {
          const message = e instanceof DstackError ? `${e.code}: ${e.message}` : (e as Error).message;
          this.o.log(`fleet host ${target.instance} (${hostKey(target)}) failed: ${message}`);
          this.updateInstance(target.instance, ({ progress: _, ...i }) => ({ ...i, status: 'terminated', error: message }));
        },
      )
      .finally(() => {
        this.provisioning.delete(target.instance);
        this.syncTargets();
        this.o.onCapacity();
      });
  }

  async teardown(instance: string): Promise<void> {
    const rec = this.o.store.instances().find((i) => i.name === instance);
    if (!rec?.target || this.tearingDown.has(instance)) return;
    this.tearingDown.add(instance);
    try {
      await this.teardownNow(rec, rec.target);
    } finally {
      this.tearingDown.delete(instance);
    }
  }

  private async teardownNow(rec: InstanceRecord, target: NonNullable<InstanceRecord['target']>): Promise<void> {
    const instance = rec.name;
    this.provisioning.get(instance)?.abort();
    this.o.onInstanceRemoved(instance);
    try {
      await this.o.ssh.teardown(fleetTarget(target));
      const fleet = rec.fleet !== undefined ? this.o.store.fleet(this.o.project, rec.fleet) : undefined;
      // A host a re-apply removed is forgotten; a deleted fleet's hosts stay `terminated` until the fleet ends.
      if (fleet?.status === 'terminating') this.updateInstance(instance, (i) => ({ ...i, status: 'terminated' }));
      else this.o.store.removeInstance(instance);
    } catch (e) {
      this.o.log(`teardown of ${instance}: ${(e as Error).message}`);
      this.updateInstance(instance, (i) => ({ ...i, status: 'terminated', error: `teardown incomplete: ${(e as Error).message}` }));
    }
    this.syncTargets();
    this.o.onCapacity();
    if (rec.fleet) this.finishFleet(rec.fleet);
  }

  /** A terminating fleet whose hosts are all gone ends `terminated`; its instance records go with it. */
  finishFleet(name: string): void {
    const fleet = this.o.store.fleet(this.o.project, name);
    if (fleet?.status === 'terminating' && instancesOf(this.o.store.instances(), name).every((i) => i.status === 'terminated')) {
      this.o.store.transaction((tx) => {
        tx.putFleet({ ...fleet, status: 'terminated' });
        for (const i of tx.instances()) if (i.fleet === name) tx.removeInstance(i.name);
      });
    }
    this.o.changed(name);
  }

  private updateInstance(name: string, fn: (i: InstanceRecord) => InstanceRecord): void {
    const rec = this.o.store.updateInstance(name, fn);
    if (rec?.fleet) {
      this.refreshStatus(rec.fleet);
      this.o.changed(rec.fleet);
    }
  }

  /** submitted while hosts are on their way; active with one joined; failed when every host failed. */
  private refreshStatus(name: string): void {
    const fleet = this.o.store.fleet(this.o.project, name);
    if (!fleet || fleet.status === 'terminating' || fleet.status === 'terminated') return;
    const instances = instancesOf(this.o.store.instances(), name);
    const joined = instances.some((i) => i.status === 'idle' || i.status === 'busy');
    const waiting = instances.some((i) => i.status === 'pending' || i.status === 'provisioning');
    const next = joined ? 'active' : waiting ? 'submitted' : 'failed';
    if (next !== fleet.status) this.o.store.putFleet({ ...fleet, status: next });
  }

  /** The SSH backend keeps connections to joined hosts and to those being provisioned or torn down, and no others. */
  syncTargets(): void {
    const targets = this.o.store.instances().flatMap((i) => {
      const keep = i.status === 'idle' || i.status === 'busy' || this.provisioning.has(i.name) || this.tearingDown.has(i.name);
      return keep && i.target ? [fleetTarget(i.target)] : [];
    });
    this.o.ssh.setTargets(targets);
  }
}
