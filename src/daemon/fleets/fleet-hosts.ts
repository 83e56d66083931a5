/**
 * The instances of fleets coming and going, in the background: provisioning with its progress stored on the
 * instance record (pending → provisioning → idle, or terminated with its error), teardown (one per instance at a
 * time), the fleet's status from its instances, and which instances the backends keep connections to. SSH hosts
 * (records with `target`) go through the SSH backend; cloud instances through the cloud backend their record names,
 * which stores the created VM (`cloud`) on the record the moment it exists.
 */
import { DstackError } from '../../core/errors.js';
import { resolveBlocks } from '../../core/fleets/index.js';
import type { ProvisionProgress } from '../../core/fleets/types.js';
import type { InstanceRecord } from '../../core/state/schema.js';
import type { ProvisionResult, Provisioner } from '../../backends/backend.js';
import type { CloudTarget } from '../../backends/compute.js';
import type { FleetManagerOptions } from './fleets.js';
import { fleetTarget, instancesOf } from './fleets-state.js';

export interface FleetHostsOptions extends Pick<FleetManagerOptions, 'store' | 'ssh' | 'clouds' | 'project' | 'busyElsewhere' | 'log' | 'onCapacity' | 'onInstanceRemoved'> {
  /** Every project's instances: the one SSH backend keeps connections to all projects' hosts. */
  allInstances?: () => readonly InstanceRecord[];
  /** A fleet's instances changed: notify its watchers. */
  changed: (fleet: string) => void;
  /** A cloud instance's target, made from its fleet's configuration (undefined when the fleet is gone). */
  cloudTarget: (rec: InstanceRecord) => CloudTarget | undefined;
}

/** How an instance ends; cloud records keep it (the fleet view shows why), SSH hosts removed by a re-apply go. */
export interface Teardown {
  reason?: string;
  /** The replicas still there fail with this message (they are replaced elsewhere). */
  replicasError?: string;
}

export class FleetHosts {
  private readonly provisioning = new Map<string, { abort: AbortController; done: Promise<unknown> }>();
  /** Instances being torn down: one teardown per instance at a time (a second would find its connection closed). */
  private readonly tearingDown = new Set<string>();

  constructor(private readonly o: FleetHostsOptions) {}

  /** Brings one instance in, in the background: pending → provisioning (progress) → idle, or terminated with its error. */
  provision(instance: string): void {
    const rec = this.o.store.instance(instance);
    const start = rec && this.driver(rec);
    if (!rec || !start) return;
    const abort = new AbortController();
    const onProgress = (p: ProvisionProgress) => {
      // Cloud steps (offers, create, address, SSH) go to the log too: the SSH backend logs only its own hosts'.
      if (!rec.target) this.o.log(`fleet instance ${instance}: ${p.step}: ${p.message}`);
      this.updateInstance(instance, (i) => ({ ...i, progress: p.message, ...(p.cloud ? { cloud: p.cloud } : {}) }));
    };
    this.updateInstance(instance, ({ error: _, ...i }) => ({ ...i, status: 'provisioning' }));
    const done = start
      .provision(abort.signal, onProgress)
      .then(
        (r) => this.joined(instance, r, start.blocks),
        (e: unknown) => {
          const message = e instanceof DstackError ? `${e.code}: ${e.message}` : (e as Error).message;
          this.o.log(`fleet instance ${instance} (${start.what}) failed: ${message}`);
          if (abort.signal.aborted) return;
          this.updateInstance(instance, ({ progress: _, ...i }) => ({
            ...i,
            status: 'terminated',
            error: message,
            ...(i.target ? {} : { terminationReason: 'provisioning_failed' }),
          }));
        },
      )
      .finally(() => {
        this.provisioning.delete(instance);
        this.syncTargets();
        this.o.onCapacity();
      });
    this.provisioning.set(instance, { abort, done });
    this.syncTargets();
  }

  /** Takes the instance out in the background of the caller (the record says `terminating` meanwhile). */
  async teardown(instance: string, how: Teardown = {}): Promise<void> {
    if (this.tearingDown.has(instance) || !this.o.store.instance(instance)) return;
    this.tearingDown.add(instance);
    try {
      const inFlight = this.provisioning.get(instance);
      inFlight?.abort.abort();
      // A VM being created lands on the record first: what is terminated is what exists.
      await inFlight?.done;
      const rec = this.o.store.instance(instance);
      if (rec) await this.teardownNow(rec, how);
    } finally {
      this.tearingDown.delete(instance);
      // Only now may the backend drop the instance's connection: it was kept for the teardown itself.
      this.syncTargets();
    }
  }

  /** A cloud instance the provider ended (spot interruption, terminated elsewhere): its record ends with the reason. */
  ended(instance: string, reason: string, detail: string): void {
    this.provisioning.get(instance)?.abort.abort();
    this.o.onInstanceRemoved(instance, `instance ${instance} ${detail}`);
    this.updateInstance(instance, ({ progress: _, ...i }) => ({ ...i, status: 'terminated', terminationReason: reason, error: detail }));
    this.syncTargets();
    this.o.onCapacity();
  }

  private async teardownNow(rec: InstanceRecord, how: Teardown): Promise<void> {
    const instance = rec.name;
    this.o.onInstanceRemoved(instance, how.replicasError);
    try {
      if (rec.target) await this.o.ssh.teardown(fleetTarget(rec.target));
      else {
        const cloud = this.cloudOf(rec);
        const target = this.o.cloudTarget(rec);
        if (cloud && target) await cloud.teardown(target);
        else if (rec.cloud) throw new Error(`no ${rec.backend} backend is configured to terminate ${rec.cloud.instanceId}`);
      }
      const fleet = rec.fleet !== undefined ? this.o.store.fleet(this.o.project, rec.fleet) : undefined;
      // A host a re-apply removed is forgotten; a deleted fleet's instances and ended cloud instances stay `terminated`.
      if (fleet?.status === 'terminating' || !rec.target) {
        // SSH hosts are not terminated, only left: the reason belongs to cloud instances.
        const reason = how.reason && !rec.target ? { terminationReason: how.reason } : {};
        this.updateInstance(instance, ({ progress: _, ...i }) => ({ ...i, status: 'terminated', ...reason }));
      } else this.o.store.removeInstance(instance);
    } catch (e) {
      this.o.log(`teardown of ${instance}: ${(e as Error).message}`);
      if (!rec.target) {
        // A VM that may still run (and cost) stays `terminating`: the next start, sweep or delete tries again.
        this.updateInstance(instance, (i) => ({ ...i, status: 'terminating', error: `terminate failed: ${(e as Error).message}` }));
      } else this.updateInstance(instance, (i) => ({ ...i, status: 'terminated', error: `teardown incomplete: ${(e as Error).message}` }));
    }
    this.syncTargets();
    this.o.onCapacity();
    if (rec.fleet) this.finishFleet(rec.fleet);
  }

  /** A terminating fleet whose instances are all gone ends `terminated`; its instance records go with it. */
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

  updateInstance(name: string, fn: (i: InstanceRecord) => InstanceRecord): void {
    const rec = this.o.store.updateInstance(name, fn);
    if (rec?.fleet) {
      this.refreshStatus(rec.fleet);
      this.o.changed(rec.fleet);
    }
  }

  isBusy(instance: string): boolean {
    return this.provisioning.has(instance) || this.tearingDown.has(instance);
  }

  /** The backends keep connections to joined instances and to those being provisioned or torn down, and no others. */
  syncTargets(): void {
    const keep = (i: InstanceRecord) => i.status === 'idle' || i.status === 'busy' || this.isBusy(i.name) || this.o.busyElsewhere?.(i.name) === true;
    const everyProject = (this.o.allInstances?.() ?? this.o.store.instances()).filter(keep);
    this.o.ssh.setTargets(everyProject.flatMap((i) => (i.target ? [fleetTarget(i.target)] : [])));
    // Cloud backends are this project's own.
    const kept = this.o.store.instances().filter(keep);
    for (const cloud of this.o.clouds ?? []) {
      cloud.setTargets(kept.filter((i) => !i.target && i.backend === cloud.kind).flatMap((i) => this.o.cloudTarget(i) ?? []));
    }
  }

  private joined(instance: string, r: ProvisionResult, blocks: number | 'auto'): void {
    this.updateInstance(instance, ({ progress: _, ...i }) => ({
      ...i,
      status: 'idle',
      host: r.host,
      blocks: resolveBlocks(blocks, r.host.gpus.length),
      ...(r.cloud ? { cloud: r.cloud } : {}),
    }));
  }

  private driver(rec: InstanceRecord): { what: string; blocks: number | 'auto'; provision: (signal: AbortSignal, onProgress: (p: ProvisionProgress) => void) => Promise<ProvisionResult> } | undefined {
    if (rec.target) {
      const target = fleetTarget(rec.target);
      return { what: `${target.user}@${target.hostname}:${target.port}`, blocks: target.blocks, provision: (signal, onProgress) => this.o.ssh.provision(target, onProgress, signal) };
    }
    const cloud = this.cloudOf(rec);
    const target = this.o.cloudTarget(rec);
    if (!cloud || !target) {
      this.updateInstance(rec.name, (i) => ({ ...i, status: 'terminated', terminationReason: 'provisioning_failed', error: `no ${rec.backend} backend is configured` }));
      return undefined;
    }
    return { what: rec.backend, blocks: 1, provision: (signal, onProgress) => cloud.provision(target, onProgress, signal) };
  }

  private cloudOf(rec: InstanceRecord): Provisioner<CloudTarget> | undefined {
    return this.o.clouds?.find((c) => c.kind === rec.backend);
  }

  /**
   * SSH fleets: submitted while hosts are on their way, active with one joined, failed when every host failed. Cloud
   * fleets stay active with no instance (`nodes: 0..`, or all idled out): only a first apply whose every instance
   * failed to be created fails them.
   */
  private refreshStatus(name: string): void {
    const fleet = this.o.store.fleet(this.o.project, name);
    if (!fleet || fleet.status === 'terminating' || fleet.status === 'terminated') return;
    const instances = instancesOf(this.o.store.instances(), name);
    const joined = instances.some((i) => i.status === 'idle' || i.status === 'busy');
    const waiting = instances.some((i) => i.status === 'pending' || i.status === 'provisioning');
    const cloud = instances.every((i) => !i.target);
    const firstFailed = fleet.status !== 'active' && instances.every((i) => i.status === 'terminated' && (!cloud || i.terminationReason === 'provisioning_failed'));
    const next = joined ? 'active' : waiting ? (fleet.status === 'active' && cloud ? 'active' : 'submitted') : firstFailed ? 'failed' : cloud ? 'active' : 'failed';
    if (next !== fleet.status) this.o.store.putFleet({ ...fleet, status: next });
  }
}
