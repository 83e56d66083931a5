/**
 * Cloud fleets' decisions (issue 13; dstack `nodes` fleets), pure over state so they are tested without a cloud:
 * which instances a `nodes` fleet gets on apply, what each is created from (offer filters), which fleet grows for a
 * replica no instance can take, which instances idle out, and which tagged instances a sweep terminates.
 */
import type { FleetNodesView } from '../api.js';
import type { OfferFilters } from '../catalog/types.js';
import type { FleetConfig } from '../model/fleet.js';
import { requirementsOf, type Range, type Requirements } from '../runs/requirements.js';
import type { InstanceRecord } from '../state/schema.js';

const GiB = 1024 ** 3;
/** dstack's default root disk when `resources.disk` has no lower bound. */
const DEFAULT_DISK_GIB = 100;

export const CLOUD_INSTANCE_DONE: ReadonlySet<InstanceRecord['status']> = new Set(['terminating', 'terminated']);

export const isCloudFleet = (config: FleetConfig): boolean => config.nodes !== undefined;

export function fleetNodes(config: FleetConfig): FleetNodesView | undefined {
  const n = config.nodes;
  if (!n) return undefined;
  return { min: n.min ?? 0, target: n.target, ...(n.max !== undefined ? { max: n.max } : {}) };
}

/** idle_duration in ms (fleets default to 3 days); undefined = `off`, never terminated for idleness. */
export function idleDurationMs(config: FleetConfig): number | undefined {
  const idle = config.idle_duration;
  return idle === 'off' ? undefined : idle * 1000;
}

/**
 * The offers an instance of this fleet is created from; `forReplica` narrows them to what a waiting replica needs,
 * and `spot` (a service's `fallback`) to spot (true) or on-demand (false) offers instead of the fleet's `spot_policy`.
 */
export function cloudFilters(config: FleetConfig, forReplica?: Requirements, spot?: boolean): OfferFilters {
  const own = requirementsOf(config.resources);
  const requirements = forReplica ? intersectRequirements(own, forReplica) : own;
  const arch = config.resources.cpu.arch;
  return {
    requirements,
    ...(arch ? { cpuArch: arch } : {}),
    ...(config.backends ? { backends: config.backends } : {}),
    ...(config.regions ? { regions: config.regions } : {}),
    ...(config.instance_types ? { instanceTypes: config.instance_types } : {}),
    spotPolicy: spot === undefined ? config.spot_policy : spot ? 'spot' : 'on-demand',
    ...(config.max_price !== undefined ? { maxPrice: config.max_price } : {}),
  };
}

/** Whether the fleet's `spot_policy` lets it create an instance of that kind (`auto` gives either). */
export const fleetGives = (config: Pick<FleetConfig, 'spot_policy'>, spot: boolean): boolean =>
  config.spot_policy === 'auto' || (config.spot_policy === 'spot') === spot;

/** Root disk in GiB: the lower bound of the disk the instance must have. */
export function diskGiB(filters: OfferFilters): number {
  const min = filters.requirements.diskBytes.min;
  return min !== undefined ? Math.max(1, Math.ceil(min / GiB)) : DEFAULT_DISK_GIB;
}

/** Both sets of requirements at once (ranges intersected; GPU names both allow). Empty ranges stay empty: no offer fits. */
export function intersectRequirements(a: Requirements, b: Requirements): Requirements {
  const names = a.gpu.names && b.gpu.names ? a.gpu.names.filter((n) => b.gpu.names!.some((m) => m.toLowerCase() === n.toLowerCase())) : (a.gpu.names ?? b.gpu.names);
  const vendor = a.gpu.vendor ?? b.gpu.vendor;
  const memoryMiB = a.gpu.memoryMiB && b.gpu.memoryMiB ? both(a.gpu.memoryMiB, b.gpu.memoryMiB) : (a.gpu.memoryMiB ?? b.gpu.memoryMiB);
  return {
    cpu: both(a.cpu, b.cpu),
    memoryBytes: both(a.memoryBytes, b.memoryBytes),
    diskBytes: both(a.diskBytes, b.diskBytes),
    gpu: { count: both(a.gpu.count, b.gpu.count), ...(names ? { names } : {}), ...(vendor ? { vendor } : {}), ...(memoryMiB ? { memoryMiB } : {}) },
  };
}

function both(a: Range, b: Range): Range {
  const min = a.min === undefined ? b.min : b.min === undefined ? a.min : Math.max(a.min, b.min);
  const max = a.max === undefined ? b.max : b.max === undefined ? a.max : Math.min(a.max, b.max);
  return { ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) };
}

/** Instances that count against `max`: every one not on its way out. */
export const liveInstances = (instances: readonly InstanceRecord[], fleet: string): InstanceRecord[] =>
  instances.filter((i) => i.fleet === fleet && !CLOUD_INSTANCE_DONE.has(i.status));

/** `<fleet>-<n>`, n one above the highest the fleet's records use: an ended instance keeps its name (and its reason). */
export function nextInstanceName(fleet: string, instances: readonly InstanceRecord[]): string {
  const nums = instances.flatMap((i) => {
    const m = i.fleet === fleet && i.name.startsWith(`${fleet}-`) ? /^\d+$/.exec(i.name.slice(fleet.length + 1)) : null;
    return m ? [Number(m[0])] : [];
  });
  return `${fleet}-${nums.length > 0 ? Math.max(...nums) + 1 : 0}`;
}

/** How many instances apply creates now: up to `target`, counting those already there. */
export function instancesToCreate(nodes: FleetNodesView, live: number): number {
  return Math.max(0, nodes.target - live);
}

/** Whether the fleet may get one more instance for a waiting replica. */
export const canGrow = (nodes: FleetNodesView, live: number): boolean => nodes.max === undefined || live < nodes.max;

export interface IdleDecision {
  /** Instances that just lost their last replica (idleSince = now) or got one (idleSince cleared). */
  idleFrom: string[];
  busyAgain: string[];
  /** Idle past idle_duration and above `min`: terminated with reason idle_timeout, oldest idle first. */
  terminate: string[];
}

/**
 * One fleet's idle bookkeeping. `used` = instances holding a live replica. Only joined instances (idle/busy) idle
 * out; never below `min` live instances; `idleMs` undefined (`off`) never terminates.
 */
export function decideIdle(input: { instances: readonly InstanceRecord[]; used: ReadonlySet<string>; nodes: FleetNodesView; idleMs: number | undefined; now: number }): IdleDecision {
  const { instances, used, nodes, idleMs, now } = input;
  const joined = instances.filter((i) => i.status === 'idle' || i.status === 'busy');
  const idleFrom = joined.filter((i) => !used.has(i.name) && i.idleSince === undefined).map((i) => i.name);
  const busyAgain = joined.filter((i) => used.has(i.name) && i.idleSince !== undefined).map((i) => i.name);
  const terminate: string[] = [];
  if (idleMs !== undefined) {
    let live = instances.filter((i) => !CLOUD_INSTANCE_DONE.has(i.status)).length;
    const expired = joined
      .filter((i) => !used.has(i.name) && i.idleSince !== undefined && now - i.idleSince >= idleMs)
      .sort((a, b) => a.idleSince! - b.idleSince!);
    for (const i of expired) {
      if (live <= nodes.min) break;
      terminate.push(i.name);
      live--;
    }
  }
  return { idleFrom, busyAgain, terminate };
}

export interface TaggedRef {
  instanceId: string;
  state: string;
  instanceName?: string;
}

/**
 * Tagged instances no live record owns: created by a daemon that died before storing the id, or left by a teardown
 * that did not finish. A record owns its VM by id, or (before the id was stored) by its instance name while this
 * process may be creating it: every record without a VM except `resumed`, those a restart found half-created (their
 * creation died with the last process, so a VM under their name is an orphan, and they start over after the sweep).
 */
export function decideSweep(tagged: readonly TaggedRef[], records: readonly InstanceRecord[], resumed: ReadonlySet<string> = new Set()): string[] {
  const live = records.filter((r) => r.status !== 'terminated');
  const ids = new Set(live.flatMap((r) => (r.cloud ? [r.cloud.instanceId] : [])));
  const creating = new Set(live.filter((r) => !r.cloud && !resumed.has(r.name)).map((r) => r.name));
  return tagged
    .filter((t) => t.state !== 'terminated' && t.state !== 'shutting-down')
    .filter((t) => !ids.has(t.instanceId) && !(t.instanceName !== undefined && creating.has(t.instanceName)))
    .map((t) => t.instanceId);
}

/**
 * Instances to create so a fleet keeps `min` (dstack's fleet consolidation): instances the provider took back are
 * replaced; after failed creations only while the fleet's `retry` covers `no-capacity` and its duration (counted from
 * the fleet's creation) has not run out.
 */
export function decideReplenish(input: { nodes: FleetNodesView; instances: readonly InstanceRecord[]; retry: FleetConfig['retry']; fleetAgeMs: number }): number {
  const { nodes, instances, retry, fleetAgeMs } = input;
  const deficit = nodes.min - instances.filter((i) => !CLOUD_INSTANCE_DONE.has(i.status)).length;
  if (deficit <= 0) return 0;
  const last = instances.filter((i) => i.status === 'terminated').sort((a, b) => b.createdAt - a.createdAt)[0];
  if (last?.terminationReason !== 'provisioning_failed') return deficit;
  return retry && retry.on_events.includes('no-capacity') && fleetAgeMs < retry.duration * 1000 ? deficit : 0;
}
