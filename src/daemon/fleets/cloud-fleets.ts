/**
 * Cloud fleets (`type: fleet` with `nodes`, issue 13) over the cloud backends: a fleet's parsed configuration and
 * the target its instances are created from, its plan (offers), apply (creates `nodes.target` instances), and the
 * sweep of tagged instances no record owns (at start and on delete). Growth, idle instances and provider checks run
 * on ticks in cloud-upkeep.ts. The decisions are pure (src/core/fleets/cloud.ts); these classes carry them out.
 */
import type { CatalogInfo, FleetApplyRequest, FleetNodesView, FleetPlan, Offer } from '../../core/api.js';
import { UserError } from '../../core/errors.js';
import { cloudFilters, decideSweep, diskGiB, fleetNodes, instancesToCreate, liveInstances } from '../../core/fleets/cloud.js';
import { nextProjectInstanceName } from './project-state.js';
import type { FleetConfig } from '../../core/model/fleet.js';
import { Json } from '../../core/model/json.js';
import type { CloudFleetOffers } from '../../core/runs/offers.js';
import type { Requirements } from '../../core/runs/requirements.js';
import type { FleetRecord, InstanceRecord } from '../../core/state/schema.js';
import type { StateStore } from '../../core/state/store.js';
import type { Provisioner } from '../../backends/backend.js';
import type { CloudInstanceStatus } from '../../backends/cloud/instance-state.js';
import type { CloudInstance, CloudTarget, Compute } from '../../backends/compute.js';
import type { FleetHosts } from './fleet-hosts.js';
import { FLEET_DONE, liveReplicasOn } from './fleets-state.js';

/** A cloud backend as cloud fleets use it (src/backends/cloud CloudBackend). */
export interface CloudFleetBackend extends Provisioner<CloudTarget> {
  readonly compute: Pick<Compute, 'offers' | 'listTagged' | 'terminateInstance'>;
  instanceStatus(cloud: CloudInstance): Promise<CloudInstanceStatus>;
}

export interface CloudFleetsOptions {
  store: StateStore;
  clouds: readonly CloudFleetBackend[];
  hosts: FleetHosts;
  project: string;
  defaultProject?: string | undefined;
  clock: () => number;
  log: (line: string) => void;
  parseFleet: (raw: unknown) => FleetConfig;
  /** DSTACK_HOME/config.yml, named when a fleet needs a backend that is not configured. */
  configFile: string;
  /** Where a provider's catalog prices come from (the plan prints the date). */
  catalogInfo?: (provider: string) => Promise<CatalogInfo>;
  /** How often a joined instance's state is asked of its provider (default 30 s); at once when it stops answering. */
  checkEveryMs?: number;
}

const PLAN_OFFERS = 5;

export class CloudFleets {
  private readonly configs = new WeakMap<object, FleetConfig>();

  constructor(private readonly o: CloudFleetsOptions) {}

  /** The fleet's parsed configuration (cached per stored object). */
  configOf(fleet: string): FleetConfig | undefined {
    const rec = this.o.store.fleet(this.o.project, fleet);
    if (!rec || typeof rec.configRaw !== 'object' || rec.configRaw === null) return undefined;
    let config = this.configs.get(rec.configRaw);
    if (!config) {
      try {
        config = this.o.parseFleet(rec.configRaw);
      } catch {
        return undefined;
      }
      this.configs.set(rec.configRaw, config);
    }
    return config.nodes !== undefined ? config : undefined;
  }

  cloudTarget(rec: InstanceRecord): CloudTarget | undefined {
    const config = rec.fleet !== undefined ? this.configOf(rec.fleet) : undefined;
    if (!config || rec.fleet === undefined) return undefined;
    const filters = cloudFilters(config, rec.forReplica?.requirements as Requirements | undefined, rec.forReplica?.spot);
    return {
      instance: rec.name,
      fleet: rec.fleet,
      project: this.o.project,
      filters,
      diskGiB: diskGiB(filters),
      ...(config.reservation ? { reservation: config.reservation } : {}),
      ...(rec.cloud ? { cloud: rec.cloud } : {}),
    };
  }

  async plan(config: FleetConfig): Promise<Pick<FleetPlan, 'nodes' | 'offers' | 'offersTotal' | 'offersMaxPrice' | 'catalogs' | 'warnings'>> {
    const members = this.membersFor(config);
    const offers = await this.offers(members, config);
    // No offers is said by the plan's offers table (offersTotal 0), not as a warning too.
    const offersMaxPrice = offers.reduce((max, o) => Math.max(max, o.price), 0);
    const providers = [...new Set(offers.map((o) => o.backend))];
    const catalogs = this.o.catalogInfo ? (await Promise.all(providers.map((p) => this.o.catalogInfo!(p).catch(() => undefined)))).filter((c) => c !== undefined) : [];
    return {
      nodes: fleetNodes(config)!,
      offers: offers.slice(0, PLAN_OFFERS),
      offersTotal: offers.length,
      ...(offers.length > 0 ? { offersMaxPrice } : {}),
      ...(catalogs.length > 0 ? { catalogs } : {}),
      warnings: [],
    };
  }

  /**
   * Applies a `nodes` fleet: its record, `target` instances (less those it has) created in the background, and idle
   * instances above a lowered `max` terminated (busy ones never). Failed instances of an earlier apply are forgotten.
   */
  async apply(req: FleetApplyRequest, name: string, config: FleetConfig, now: number): Promise<FleetRecord> {
    const members = this.membersFor(config);
    const nodes = fleetNodes(config)!;
    const all = this.o.store.instances();
    const count = instancesToCreate(nodes, liveInstances(all, name).length);
    const backend = count > 0 ? await this.cheapestBackend(members, config) : members[0]!.kind;
    const created: InstanceRecord[] = [];
    for (let k = 0; k < count; k++) {
      created.push({ name: nextProjectInstanceName(this.o, name, [...all, ...created]), fleet: name, backend, status: 'pending', unreachable: false, createdAt: now });
    }
    const configRaw = Json.parse(req.config);
    const fleet = this.o.store.transaction((tx) => {
      for (const i of tx.instances()) if (i.fleet === name && i.status === 'terminated') tx.removeInstance(i.name);
      const existing = tx.fleet(this.o.project, name);
      const reuse = existing && !FLEET_DONE.has(existing.status) ? existing : undefined;
      const record: FleetRecord = {
        ...(reuse ?? { name, project: this.o.project, createdAt: now }),
        status: reuse?.status ?? (created.length > 0 ? 'submitted' : 'active'),
        configRaw,
        ...(req.configPath !== undefined ? { configPath: req.configPath } : {}),
      };
      tx.putFleet(record);
      for (const i of created) tx.putInstance(i);
      return record;
    });
    for (const i of created) this.o.hosts.provision(i.name);
    for (const surplus of this.surplus(name, nodes)) {
      this.o.hosts.updateInstance(surplus, (i) => ({ ...i, status: 'terminating' }));
      void this.o.hosts.teardown(surplus, { reason: 'terminated_by_user' });
    }
    return fleet;
  }

  /** Live instances above a lowered `max` that hold no replica. */
  private surplus(name: string, nodes: FleetNodesView): string[] {
    if (nodes.max === undefined) return [];
    const live = liveInstances(this.o.store.instances(), name);
    const used = new Set(liveReplicasOn(this.o.store.runs(), live.map((i) => i.name)).map((l) => l.instance));
    return live.filter((i) => !used.has(i.name)).slice(0, Math.max(0, live.length - nodes.max)).map((i) => i.name);
  }

  /** Active cloud fleets and the offers their instances are created from (a run's plan counts these). */
  offerFilters(): CloudFleetOffers[] {
    return this.o.store
      .fleets()
      .filter((f) => f.project === this.o.project && !FLEET_DONE.has(f.status) && f.status !== 'terminating')
      .flatMap((f) => {
        const config = this.configOf(f.name);
        return config ? [{ name: f.name, filters: cloudFilters(config) }] : [];
      });
  }

  /** Terminates tagged instances of this project that no record owns (see decideSweep); errors are logged, not thrown. */
  async sweep(resumed: ReadonlySet<string>, fleet?: string): Promise<void> {
    await Promise.all(
      this.o.clouds.map(async (cloud) => {
        try {
          const tagged = (await cloud.compute.listTagged(this.o.project)).filter((t) => fleet === undefined || t.fleet === fleet);
          const orphans = new Set(decideSweep(tagged, this.o.store.instances(), resumed));
          for (const t of tagged.filter((x) => orphans.has(x.instanceId))) {
            this.o.log(`${cloud.kind}: terminating ${t.instanceId} (${t.instanceName ?? 'no dstack_instance tag'}): no instance record owns it`);
            await cloud.compute.terminateInstance({ instanceId: t.instanceId, region: t.region });
          }
        } catch (e) {
          this.o.log(`${cloud.kind}: sweep of tagged instances failed: ${(e as Error).message}`);
        }
      }),
    );
  }

  /** The cloud backends the fleet may use (its `backends:`); none when config.yml no longer has them. */
  usableBy(config: FleetConfig): CloudFleetBackend[] {
    const allowed = config.backends?.map((b) => b.toLowerCase());
    return this.o.clouds.filter((c) => !allowed || allowed.includes(c.kind));
  }

  /** The cloud backends the fleet may use (its `backends:`), or a UserError naming config.yml. */
  membersFor(config: FleetConfig): CloudFleetBackend[] {
    const members = this.usableBy(config);
    if (members.length > 0) return members;
    const allowed = config.backends?.map((b) => b.toLowerCase());
    const wanted = allowed?.join(', ') ?? 'aws';
    throw new UserError('NO_CLOUD_BACKEND', `This fleet asks for cloud instances (\`nodes\`), but no ${allowed ? `${wanted} ` : ''}backend is configured in ${this.o.configFile}`, {
      hint: `Add it under projects[${this.o.project}].backends, e.g. \`- type: ${allowed?.[0] ?? 'aws'}\` with \`creds: {type: default}\`, then run \`dstack server restart\` if a daemon is running.`,
    });
  }

  /** Offers of every member for the fleet (narrowed to a waiting replica's needs), cheapest first. */
  private async offers(members: readonly CloudFleetBackend[], config: FleetConfig, forReplica?: Requirements, spot?: boolean): Promise<Offer[]> {
    const filters = cloudFilters(config, forReplica, spot);
    const lists = await Promise.all(members.map((m) => m.compute.offers(filters).catch((): Offer[] => [])));
    return lists.flat().sort((a, b) => a.price - b.price);
  }

  /** The backend of the cheapest offer (an offer names its backend), else the first member. */
  async cheapestBackend(members: readonly CloudFleetBackend[], config: FleetConfig, forReplica?: Requirements, spot?: boolean): Promise<string> {
    return (await this.offers(members, config, forReplica, spot))[0]?.backend ?? members[0]!.kind;
  }
}
