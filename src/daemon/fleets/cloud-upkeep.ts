/**
 * The upkeep of cloud fleets on every reconcile tick (issue 13): a replica no instance can take makes a fleet it may
 * use grow by one (up to `max`, backing off after failed creations); instances without replicas for `idle_duration`
 * go (never below `min`); joined instances are asked of their provider now and then (at once when their agent link
 * breaks), and one the provider ended (spot interruption, terminated elsewhere) ends with the reason while its
 * replicas are replaced; ended records beyond the last few are forgotten.
 */
import { canGrow, decideIdle, decideReplenish, fleetGives, fleetNodes, idleDurationMs, intersectRequirements, liveInstances } from '../../core/fleets/cloud.js';
import { nextProjectInstanceName } from './project-state.js';
import type { FleetConfig } from '../../core/model/fleet.js';
import { isRunFinished } from '../../core/reconcile/index.js';
import { requirementsOf, type Requirements } from '../../core/runs/requirements.js';
import { placementCapacity } from '../../core/runs/spot-fallback.js';
import type { FleetRecord, InstanceRecord, ReplicaRecord, RunRecord } from '../../core/state/schema.js';
import type { CloudFleets, CloudFleetsOptions } from './cloud-fleets.js';
import { FLEET_DONE, liveReplicasOn } from './fleets-state.js';

const GROWTH_BACKOFF_MS = 30_000;
const MAX_GROWTH_BACKOFF_MS = 10 * 60_000;
/** Ended instances kept per fleet for `dstack fleet` to show why they ended. */
const KEEP_ENDED = 5;

export class CloudUpkeep {
  private readonly lastCheck = new Map<string, number>();
  private readonly checking = new Set<string>();

  constructor(
    private readonly o: Pick<CloudFleetsOptions, 'store' | 'clouds' | 'hosts' | 'project' | 'defaultProject' | 'clock' | 'log' | 'checkEveryMs'>,
    private readonly fleets: CloudFleets,
  ) {}

  /** Runs on every reconcile tick: growth for waiting replicas, idle instances, provider-ended instances, old records. */
  tick(): void {
    const now = this.o.clock();
    const fleets = this.o.store.fleets().filter((f) => f.project === this.o.project && !FLEET_DONE.has(f.status) && f.status !== 'terminating');
    const runs = this.o.store.runs();
    const used = usedInstances(runs, this.o.store.instances());
    for (const fleet of fleets) {
      const config = this.fleets.configOf(fleet.name);
      if (!config) continue;
      this.idle(fleet, config, used, now);
      this.forgetEnded(fleet.name);
    }
    this.replenish(now);
    this.grow(runs, fleets, now);
    this.checkProviders(now);
  }

  /** Fleets below `min` get instances again (after interruptions; after failed creations while `retry` allows). */
  private replenish(now: number): void {
    const fleets = this.o.store.fleets().filter((f) => f.project === this.o.project && (f.status === 'active' || f.status === 'submitted' || f.status === 'failed'));
    for (const fleet of fleets) {
      const config = this.fleets.configOf(fleet.name);
      // A backend removed from config.yml since: the fleet keeps what it has and creates nothing.
      if (!config || this.fleets.usableBy(config).length === 0 || now < this.growthAllowedAt(fleet.name)) continue;
      const instances = this.o.store.instances().filter((i) => i.fleet === fleet.name && !i.target);
      if (instances.some((i) => i.status === 'pending' || i.status === 'provisioning')) continue;
      const count = decideReplenish({ nodes: fleetNodes(config)!, instances, retry: config.retry, fleetAgeMs: now - fleet.createdAt });
      if (count === 0) continue;
      this.o.log(`fleet ${fleet.name}: ${count} below min ${fleetNodes(config)!.min}: creating ${count === 1 ? 'an instance' : `${count} instances`}`);
      if (fleet.status === 'failed') this.o.store.putFleet({ ...fleet, status: 'submitted' });
      for (let k = 0; k < count; k++) this.create(fleet.name, config, undefined, now);
    }
  }

  private idle(fleet: FleetRecord, config: FleetConfig, used: ReadonlySet<string>, now: number): void {
    const instances = this.o.store.instances().filter((i) => i.fleet === fleet.name && !i.target);
    const d = decideIdle({ instances, used, nodes: fleetNodes(config)!, idleMs: idleDurationMs(config), now });
    for (const name of d.idleFrom) this.o.hosts.updateInstance(name, (i) => ({ ...i, idleSince: now }));
    for (const name of d.busyAgain) this.o.hosts.updateInstance(name, ({ idleSince: _, ...i }) => i);
    for (const name of d.terminate) {
      if (this.o.hosts.isBusy(name)) continue;
      this.o.log(`fleet ${fleet.name}: ${name} idle for ${config.idle_duration} s: terminating it`);
      this.o.hosts.updateInstance(name, (i) => ({ ...i, status: 'terminating' }));
      void this.o.hosts.teardown(name, { reason: 'idle_timeout' });
    }
  }

  /**
   * One new instance per waiting replica that no instance can take, in the first fleet (in creation order) that
   * the run may use, that can still grow and whose resources the replica's fit; none while a creation for that
   * replica is under way, or while the fleet backs off after a failed creation.
   */
  private grow(runs: readonly RunRecord[], fleets: readonly FleetRecord[], now: number): void {
    const instances = this.o.store.instances();
    // An instance created for a replica claims it while the instance lives: never a second one for the same replica.
    const claimed = new Set(instances.filter((i) => i.forReplica && i.status !== 'terminated' && i.status !== 'terminating').map((i) => i.forReplica!.id));
    for (const { run, replica } of waitingReplicas(runs)) {
      if (claimed.has(replica.id)) continue;
      const group = replica.group !== undefined ? run.config.groups?.find((g) => g.name === replica.group) : undefined;
      const needs = requirementsOf(group?.resources ?? run.config.resources);
      const capacity = placementCapacity(run, replica);
      const spot = capacity === undefined ? undefined : capacity === 'spot';
      for (const fleet of [...fleets].sort((a, b) => a.createdAt - b.createdAt)) {
        const config = this.fleets.configOf(fleet.name);
        if (!config || !mayUse(run, fleet.name, config) || this.fleets.usableBy(config).length === 0) continue;
        if (!canGrow(fleetNodes(config)!, liveInstances(this.o.store.instances(), fleet.name).length) || !fits(config, needs)) continue;
        if (now < this.growthAllowedAt(fleet.name) || (spot !== undefined && !fleetGives(config, spot))) continue;
        this.create(fleet.name, config, { id: replica.id, needs, ...(spot !== undefined ? { spot } : {}) }, now);
        claimed.add(replica.id);
        break;
      }
    }
  }

  /** One new instance of the fleet, for a waiting replica (its requirements narrow the offers) or to keep `min`. */
  private create(fleet: string, config: FleetConfig, replica: { id: string; needs: Requirements; spot?: boolean } | undefined, now: number): void {
    const members = this.fleets.membersFor(config);
    const name = nextProjectInstanceName(this.o, fleet, this.o.store.instances());
    // The backend is chosen now (the record names it); the cheapest offer decides once several clouds are configured.
    const record: InstanceRecord = {
      ...{ name, fleet, backend: members[0]!.kind, status: 'pending', unreachable: false, createdAt: now },
      ...(replica ? { forReplica: { id: replica.id, requirements: replica.needs as never, ...(replica.spot !== undefined ? { spot: replica.spot } : {}) } } : {}),
    };
    this.o.store.putInstance(record);
    if (replica) this.o.log(`fleet ${fleet}: creating ${name} for replica ${replica.id}`);
    this.o.hosts.updateInstance(name, (i) => i);
    void this.fleets.cheapestBackend(members, config, replica?.needs, replica?.spot).then((kind) => {
      if (kind !== record.backend) this.o.store.updateInstance(name, (i) => ({ ...i, backend: kind }));
      this.o.hosts.provision(name);
    });
  }

  /**
   * After failed creations the fleet waits before growing again: 30 s after the first, doubling up to 10 minutes,
   * counted over the failures since its last instance that joined (the ended records it keeps).
   */
  private growthAllowedAt(fleet: string): number {
    const mine = this.o.store.instances().filter((i) => i.fleet === fleet && !i.target);
    const lastJoined = Math.max(0, ...mine.filter((i) => i.host !== undefined).map((i) => i.createdAt));
    const failed = mine.filter((i) => i.terminationReason === 'provisioning_failed' && i.createdAt >= lastJoined);
    if (failed.length === 0) return 0;
    const latest = Math.max(...failed.map((i) => i.createdAt));
    return latest + Math.min(GROWTH_BACKOFF_MS * 2 ** (failed.length - 1), MAX_GROWTH_BACKOFF_MS);
  }

  /** Its agent link broke: ask the provider on the next tick (a spot interruption shows there first). */
  checkSoon(instance: string): void {
    this.lastCheck.delete(instance);
  }

  /** Joined instances are asked of their provider every checkEveryMs, or at once (at most every 5 s) when unreachable. */
  private checkProviders(now: number): void {
    const every = this.o.checkEveryMs ?? 30_000;
    for (const rec of this.o.store.instances()) {
      if (!rec.cloud || (rec.status !== 'idle' && rec.status !== 'busy') || this.checking.has(rec.name)) continue;
      const last = this.lastCheck.get(rec.name) ?? 0;
      if (now - last < (rec.unreachable ? Math.min(5_000, every) : every)) continue;
      const cloud = this.o.clouds.find((c) => c.kind === rec.backend);
      if (!cloud) continue;
      this.lastCheck.set(rec.name, now);
      this.checking.add(rec.name);
      void cloud
        .instanceStatus(rec.cloud)
        .then((s) => {
          if (!s.terminationReason) return;
          const why = s.terminationReason === 'interrupted' ? `was interrupted by ${rec.backend} (${s.stateReason ?? 'spot capacity reclaimed'})` : `was terminated outside dstack (${s.stateReason ?? s.state})`;
          this.o.log(`fleet ${rec.fleet}: ${rec.name} (${rec.cloud!.instanceId}) ${why}`);
          this.o.hosts.ended(rec.name, s.terminationReason, why);
          void cloud.teardown(this.fleets.cloudTarget(rec) ?? { instance: rec.name, fleet: rec.fleet ?? '', project: this.o.project, filters: { requirements: emptyRequirements() }, diskGiB: 0, cloud: rec.cloud! });
        })
        .catch((e: unknown) => this.o.log(`${rec.backend}: could not check ${rec.cloud!.instanceId}: ${(e as Error).message}`))
        .finally(() => this.checking.delete(rec.name));
    }
  }

  /** Ended instances beyond the newest KEEP_ENDED of a fleet are forgotten. */
  private forgetEnded(fleet: string): void {
    const ended = this.o.store.instances().filter((i) => i.fleet === fleet && !i.target && i.status === 'terminated');
    if (ended.length <= KEEP_ENDED) return;
    for (const old of ended.sort((a, b) => b.createdAt - a.createdAt).slice(KEEP_ENDED)) this.o.store.removeInstance(old.name);
  }
}

function usedInstances(runs: readonly RunRecord[], instances: readonly InstanceRecord[]): Set<string> {
  return new Set(liveReplicasOn(runs, instances.map((i) => i.name)).map((l) => l.instance));
}

/** Fleet replicas the placement could not put anywhere (it left its reason on them). */
function waitingReplicas(runs: readonly RunRecord[]): Array<{ run: RunRecord; replica: ReplicaRecord }> {
  return runs
    .filter((r) => !isRunFinished(r))
    .flatMap((run) => run.replicas.filter((x) => x.status === 'submitted' && x.backend === 'ssh' && x.instance === undefined && x.statusMessage !== undefined).map((replica) => ({ run, replica })))
    .sort((a, b) => a.replica.submittedAt - b.replica.submittedAt);
}

/** The run's `fleets:` names it (or says nothing) and its `backends:` allow the fleet's clouds (or say nothing). */
function mayUse(run: RunRecord, fleet: string, config: FleetConfig): boolean {
  const fleets = run.config.fleets;
  if (fleets && !fleets.some((f) => f === fleet || f.endsWith(`/${fleet}`))) return false;
  const backends = run.config.backends;
  if (!backends) return true;
  return config.backends ? config.backends.some((b) => backends.includes(b)) : backends.some((b) => b !== 'local' && b !== 'ssh');
}

/** Whether an instance of the fleet could hold the replica: every range of both still has room. */
function fits(config: FleetConfig, needs: Requirements): boolean {
  const both = intersectRequirements(requirementsOf(config.resources), needs);
  const ranges = [both.cpu, both.memoryBytes, both.diskBytes, both.gpu.count, ...(both.gpu.memoryMiB ? [both.gpu.memoryMiB] : [])];
  return ranges.every((r) => r.min === undefined || r.max === undefined || r.min <= r.max) && (both.gpu.names === undefined || both.gpu.names.length > 0);
}

const emptyRequirements = (): Requirements => ({ cpu: {}, memoryBytes: {}, diskBytes: {}, gpu: { count: {} } });
