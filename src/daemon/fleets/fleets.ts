/**
 * SSH fleets in the daemon (issue 5, dstack-notes §5): plan, apply, list, get and delete of `type: fleet` over state and
 * the SSH backend. Apply answers at once; added hosts are provisioned in the background, in parallel, progress on their
 * instance records (`GET /api/fleets/:name/events`; a restart resumes it). A failed host is reported while the others
 * join; hosts with live replicas leave only when forced, and a host of another fleet never joins (host-claims.ts).
 */
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import type { CatalogInfo, FleetApplyRequest, FleetPlan, FleetPlanRequest, FleetView } from '../../core/api.js';
import { UserError } from '../../core/errors.js';
import { diffHosts, hostKey, sshTargets, type SshTarget } from '../../core/fleets/index.js';
import { unsupportedFields } from '../../core/config/unsupported-fields.js';
import type { FleetConfig } from '../../core/model/fleet.js';
import { Json } from '../../core/model/json.js';
import { randomRunName, RUN_NAME } from '../../core/runs/index.js';
import { fleetNodes } from '../../core/fleets/cloud.js';
import type { CloudFleetOffers } from '../../core/runs/offers.js';
import type { FleetRecord, InstanceRecord } from '../../core/state/schema.js';
import type { StateStore } from '../../core/state/store.js';
import type { Provisioner } from '../../backends/backend.js';
import type { RunEvents } from '../api/events.js';
import { CloudFleets, type CloudFleetBackend } from './cloud-fleets.js';
import { CloudUpkeep } from './cloud-upkeep.js';
import { FleetHosts } from './fleet-hosts.js';
import { describeLive, FLEET_DONE, fleetTarget, liveReplicasOn, partition } from './fleets-state.js';
export { parseFleetConfig } from './fleet-config.js';
import { refuseTakenHosts } from './host-claims.js';
import { instancePrefix, projectFleetState } from './project-state.js';
import { toFleetView } from '../runs/views.js';

export interface FleetManagerOptions {
  store: StateStore;
  ssh: Provisioner;
  /** Cloud backends (one per `projects[].backends` entry): `nodes` fleets create their instances there. */
  clouds?: readonly CloudFleetBackend[];
  /** DSTACK_HOME/config.yml, named in the error when a cloud fleet has no backend to use. */
  configFile?: string;
  /** Where a provider's catalog prices come from (cloud fleet plans print the date). */
  catalogInfo?: (provider: string) => Promise<CatalogInfo>;
  /** Fleet change notifications, keyed by fleet name. */
  events: RunEvents;
  /** The config language's parser for a raw `type: fleet` object (throws ConfigError). */
  parseFleet: (raw: unknown) => FleetConfig;
  project: string;
  /** The server's default project: instances without a project are its (project-state.ts); absent = `project`. */
  defaultProject?: string;
  /** Instances some other project's manager is provisioning or tearing down (their SSH connections are kept). */
  busyElsewhere?: (instance: string) => boolean;
  clock: () => number;
  log: (line: string) => void;
  /** Capacity changed (a host joined or left): the reconciler places waiting replicas. */
  onCapacity: () => void;
  /** An instance left: the reconciler drops its connection and watch; replicas still there fail with `why`. */
  onInstanceRemoved: (instance: string, why?: string) => void;
  homeDir?: string;
  random?: () => number;
}

interface PreparedFleet {
  name: string;
  config: FleetConfig;
  targets: SshTarget[];
  current: FleetRecord | undefined;
  diff: ReturnType<typeof diffHosts>;
  raw: unknown;
}

export class FleetManager {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly o: FleetManagerOptions;
  private readonly hosts: FleetHosts;
  private readonly cloud: CloudFleets;
  private readonly upkeep: CloudUpkeep;
  private readonly everyInstance: () => readonly InstanceRecord[];

  constructor(options: FleetManagerOptions) {
    this.everyInstance = () => options.store.instances();
    const o = (this.o = { ...options, store: projectFleetState(options.store, options) });
    const hosts = { ...o, allInstances: () => options.store.instances(), changed: (fleet: string) => this.changed(fleet) };
    this.hosts = new FleetHosts({ ...hosts, cloudTarget: (rec) => this.cloud.cloudTarget(rec) });
    const cloud = { ...o, clouds: o.clouds ?? [], hosts: this.hosts, configFile: o.configFile ?? 'config.yml' };
    this.cloud = new CloudFleets(cloud);
    this.upkeep = new CloudUpkeep(cloud, this.cloud);
  }

  /**
   * After a (re)start: joined instances reconnect, interrupted provisioning and deletion start over. Cloud instances
   * whose VM was never stored are swept by their tags first, so starting over leaves no second VM behind.
   */
  start(): Promise<void> {
    this.hosts.syncTargets();
    const resume = (names: readonly string[]) => {
      for (const name of names) {
        const i = this.o.store.instance(name);
        if (i?.status === 'pending' || i?.status === 'provisioning') this.hosts.provision(i.name);
        if (i?.status === 'terminating') void this.hosts.teardown(i.name, { reason: i.terminationReason ?? 'terminated_by_user' });
      }
    };
    const [ssh, cloud] = partition(this.o.store.instances(), (i) => i.target !== undefined);
    resume(ssh.map((i) => i.name));
    if ((this.o.clouds ?? []).length === 0) return Promise.resolve();
    // Only the records found now: instances created while the sweep runs are this process's own.
    const found = cloud.map((i) => i.name);
    return this.cloud.sweep(new Set(cloud.filter((i) => !i.cloud).map((i) => i.name))).then(() => resume(found));
  }

  cloudFleets(): CloudFleetOffers[] {
    return this.cloud.offerFilters();
  }

  /** An instance's agent link broke or it stopped answering: a cloud instance is asked of its provider at once. */
  checkSoon(instance: string): void {
    this.upkeep.checkSoon(instance);
  }

  /** Provisioning or tearing down `instance` now (another project's manager keeps its SSH connection meanwhile). */
  isBusy(instance: string): boolean {
    return this.hosts.isBusy(instance);
  }

  /** Cloud fleets' periodic work (growth, idle instances, provider checks): on the reconciler's ticks. */
  tick(): void {
    this.upkeep.tick();
  }

  async plan(req: FleetPlanRequest): Promise<FleetPlan> {
    const p = this.prepare(req);
    if (p.config.nodes !== undefined) return this.planCloud(p);
    const hosts = [
      ...p.diff.add.map((t) => ({ host: hostKey(t), instance: t.instance, action: 'add' as const })),
      ...p.diff.keep.map((t) => ({ host: hostKey(t), instance: t.instance, action: 'keep' as const })),
      ...p.diff.remove.map((t) => ({ host: hostKey(t), instance: t.instance, action: 'remove' as const })),
    ];
    const changes = [...p.diff.add.map((t) => `add host ${hostKey(t)}`), ...p.diff.remove.map((t) => `remove host ${hostKey(t)}`)];
    const warnings = p.diff.remove.flatMap((t) => {
      const live = liveReplicasOn(this.o.store.runs(), [t.instance]);
      return live.length > 0 ? [`host ${hostKey(t)} runs ${describeLive(live)}; removing it needs --force`] : [];
    });
    const plan: FleetPlan = {
      project: this.o.project,
      fleetName: p.name,
      action: !p.current ? 'create' : changes.length > 0 ? 'update' : 'none',
      hosts,
      changes,
      warnings,
    };
    if (p.current) plan.currentFleet = this.view(p.current);
    return plan;
  }

  apply(req: FleetApplyRequest): Promise<FleetView> {
    const next = this.queue.then(() => this.applyNow(req));
    this.queue = next.catch(() => undefined);
    return next;
  }

  list(all: boolean): FleetView[] {
    const fleets = this.o.store.fleets().filter((f) => f.project === this.o.project && (all || !FLEET_DONE.has(f.status)));
    return [...fleets].sort((a, b) => b.createdAt - a.createdAt).map((f) => this.view(f));
  }

  get(name: string): FleetView {
    return this.view(this.find(name));
  }

  /** Tears every host down in the background (terminating → terminated), then the fleet ends `terminated`. */
  delete(name: string, force: boolean): FleetView {
    const fleet = this.find(name);
    // Already being deleted: its teardowns are under way.
    if (FLEET_DONE.has(fleet.status) || fleet.status === 'terminating') return this.view(fleet);
    const instances = this.instancesOf(name).filter((i) => i.status !== 'terminated');
    this.refuseIfBusy(instances.map((i) => i.name), force, `fleet \`${name}\``);
    const terminating = this.o.store.transaction((tx) => {
      for (const i of instances) tx.putInstance({ ...i, status: 'terminating' });
      const next: FleetRecord = { ...fleet, status: 'terminating' };
      tx.putFleet(next);
      return next;
    });
    this.changed(name);
    const cloud = this.cloud.configOf(name) !== undefined;
    const teardowns = instances.map((i) => this.hosts.teardown(i.name, { reason: 'terminated_by_user' }));
    // What a crash mid-creation left behind in the cloud under this fleet's tags goes too.
    if (cloud) void Promise.all(teardowns).then(() => this.cloud.sweep(new Set(), name));
    if (instances.length === 0) this.hosts.finishFleet(name);
    return this.view(this.o.store.fleet(this.o.project, name) ?? terminating);
  }

  view(fleet: FleetRecord): FleetView {
    const config = this.cloud.configOf(fleet.name);
    return toFleetView(fleet, this.instancesOf(fleet.name), this.o.store.runs(), config ? fleetNodes(config) : undefined);
  }

  private async planCloud(p: PreparedFleet): Promise<FleetPlan> {
    this.cloud.membersFor(p.config);
    const cloud = await this.cloud.plan(p.config);
    const live = this.instancesOf(p.name).filter((i) => i.status !== 'terminated' && i.status !== 'terminating').length;
    const create = Math.max(0, cloud.nodes!.target - live);
    const plan: FleetPlan = {
      project: this.o.project,
      fleetName: p.name,
      action: !p.current ? 'create' : create > 0 || JSON.stringify(p.current.configRaw) !== JSON.stringify(Json.parse(p.raw)) ? 'update' : 'none',
      hosts: [],
      changes: create > 0 ? [`create ${create} instance${create > 1 ? 's' : ''}`] : [],
      ...cloud,
    };
    if (p.current) plan.currentFleet = this.view(p.current);
    return plan;
  }

  private async applyCloud(req: FleetApplyRequest, p: PreparedFleet): Promise<FleetView> {
    const fleet = await this.cloud.apply(req, p.name, p.config, this.o.clock());
    this.changed(p.name);
    return this.view(fleet);
  }

  private async applyNow(req: FleetApplyRequest): Promise<FleetView> {
    const p = this.prepare(req);
    if (p.config.nodes !== undefined) return this.applyCloud(req, p);
    const removing = p.diff.remove.map((t) => t.instance);
    this.refuseIfBusy(removing, req.force, `removing ${removing.join(', ')}`);
    const now = this.o.clock();
    const configRaw = Json.parse(req.config);
    const fleet = this.o.store.transaction((tx) => {
      // Failed hosts of an earlier apply are tried again: their records go, the diff adds them anew.
      for (const i of tx.instances()) if (i.fleet === p.name && i.status === 'terminated') tx.removeInstance(i.name);
      const existing = tx.fleet(this.o.project, p.name);
      const reuse = existing && !FLEET_DONE.has(existing.status) ? existing : undefined;
      const record: FleetRecord = {
        ...(reuse ?? { name: p.name, project: this.o.project, status: 'submitted', createdAt: now }),
        configRaw,
        ...(req.configPath !== undefined ? { configPath: req.configPath } : {}),
      };
      tx.putFleet(record);
      for (const t of p.diff.keep) {
        const rec = tx.instance(t.instance);
        if (rec) tx.putInstance({ ...rec, target: t });
      }
      for (const t of p.diff.add) {
        tx.putInstance({ name: t.instance, fleet: p.name, backend: 'ssh', status: 'pending', unreachable: false, createdAt: now, target: t });
      }
      for (const t of p.diff.remove) {
        const rec = tx.instance(t.instance);
        if (rec) tx.putInstance({ ...rec, status: 'terminating' });
      }
      return record;
    });
    this.changed(p.name);
    for (const t of p.diff.add) this.hosts.provision(t.instance);
    for (const t of p.diff.remove) void this.hosts.teardown(t.instance);
    return this.view(fleet);
  }

  private prepare(req: FleetPlanRequest): PreparedFleet {
    const config = this.o.parseFleet(req.config);
    const unsupported = unsupportedFields(config);
    if (unsupported.length > 0) {
      throw new UserError('NOT_SUPPORTED_YET', unsupported.map((f) => f.message).join('; '), { hint: 'Remove these fields or change them as the messages say.' });
    }
    const name = config.name ?? randomRunName(this.o.random);
    if (!RUN_NAME.test(name)) throw new UserError('INVALID_FLEET_NAME', `invalid fleet name \`${name}\``);
    const configDir = req.configPath !== undefined ? dirname(req.configPath) : process.cwd();
    const targets = config.nodes !== undefined ? [] : sshTargets(name, config, this.o.homeDir ?? homedir(), configDir);
    const current = this.current(name);
    const live = this.instancesOf(name).filter((i) => i.status !== 'terminated' && i.status !== 'terminating' && i.target);
    const diff = diffHosts(live.map((i) => fleetTarget(i.target!)), targets);
    // Instance names are keys across projects: new hosts get the project's prefix (kept ones have it).
    diff.add = diff.add.map((t) => ({ ...t, instance: instancePrefix(this.o) + t.instance }));
    refuseTakenHosts({ project: this.o.project, defaultProject: this.o.defaultProject ?? this.o.project, fleet: name }, diff.add, this.everyInstance());
    return { name, config, targets, current, diff, raw: req.config };
  }

  private refuseIfBusy(instances: string[], force: boolean, what: string): void {
    const live = liveReplicasOn(this.o.store.runs(), instances);
    if (live.length === 0 || force) return;
    throw new UserError('FLEET_IN_USE', `${what}: ${describeLive(live)} still running there`, {
      status: 409,
      hint: 'Stop these runs first (`dstack stop <run>`), or pass --force to take the hosts out anyway.',
    });
  }

  private instancesOf(fleet: string): InstanceRecord[] {
    return this.o.store.instances().filter((i) => i.fleet === fleet);
  }

  /** The active fleet of that name. */
  private current(name: string): FleetRecord | undefined {
    const fleet = this.o.store.fleet(this.o.project, name);
    return fleet && !FLEET_DONE.has(fleet.status) ? fleet : undefined;
  }

  private find(name: string): FleetRecord {
    const fleet = this.o.store.fleet(this.o.project, name);
    if (!fleet) throw new UserError('FLEET_NOT_FOUND', `Fleet ${name} not found`, { status: 404, hint: 'See `dstack fleet list` for fleets.' });
    return fleet;
  }

  private changed(fleet: string): void {
    this.o.events.notify(fleet);
  }
}
