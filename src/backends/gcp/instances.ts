/**
 * Describe, terminate and list VMs. GCE names a VM within its zone; the zone travels in `backendData`, and an
 * instance known by name only (the label sweep after a crash passes id and region) is looked up in its region.
 * A spot VM is deleted when preempted (instance-spec.ts), so a vanished spot VM is asked about once more: a
 * `compute.instances.preempted` operation on it makes it `terminated` with reason `preempted`, not merely gone.
 */
import type { protos } from '@google-cloud/compute';
import type { CloudInstance, CloudInstanceState, Compute, TaggedInstance } from '../compute.js';
import type { Clients, Gce } from './client.js';
import { httpStatusOf } from './errors.js';
import { labelValue } from './instance-spec.js';

type Instance = protos.google.cloud.compute.v1.IInstance;
type Described = Awaited<ReturnType<Compute['describeInstance']>>;

/** Async iteration pages by itself; without this gax warns on every call that it ignores auto-pagination. */
const NO_AUTO_PAGINATE = { autoPaginate: false };

/** https://cloud.google.com/compute/docs/instances/instance-life-cycle; GCE's TERMINATED is a stopped VM. */
const STATES: Record<string, CloudInstanceState> = {
  PROVISIONING: 'pending',
  STAGING: 'pending',
  RUNNING: 'running',
  REPAIRING: 'running',
  STOPPING: 'stopping',
  SUSPENDING: 'stopping',
  SUSPENDED: 'stopped',
  TERMINATED: 'stopped',
};

export function stateOf(instance: Instance): CloudInstanceState {
  return STATES[String(instance.status ?? '')] ?? 'pending';
}

/** The public address (a one-to-one NAT), else the private one (a VPN, a peered VPC). */
export function addressOf(instance: Instance): { hostname?: string; internalIp?: string } {
  const nic = instance.networkInterfaces?.[0];
  const internalIp = nic?.networkIP ?? undefined;
  const hostname = nic?.accessConfigs?.find((a) => a.natIP)?.natIP ?? internalIp;
  return { ...(hostname ? { hostname } : {}), ...(internalIp ? { internalIp } : {}) };
}

/** `zones/us-central1-a` or a zone URL → `us-central1-a`. */
export const lastSegment = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

export function zoneOf(instance: Pick<CloudInstance, 'backendData'>): string | undefined {
  const data = instance.backendData;
  const zone = typeof data === 'object' && data !== null && !Array.isArray(data) ? data.zone : undefined;
  return typeof zone === 'string' ? zone : undefined;
}

export async function describe(gce: Gce, instance: Pick<CloudInstance, 'instanceId' | 'zone' | 'spot' | 'backendData'>): Promise<Described> {
  const zone = instance.zone ?? zoneOf(instance);
  if (!zone) return undefined;
  return gce.call('instances.get', zone, async (c) => {
    try {
      const [found] = await c.instances.get({ project: gce.project, zone, instance: instance.instanceId });
      const state = stateOf(found);
      const preempted = instance.spot && (state === 'stopping' || state === 'stopped') && (await wasPreempted(gce, c, zone, instance.instanceId));
      return { state, ...addressOf(found), ...(preempted ? { stateReason: 'preempted' } : {}) };
    } catch (e) {
      if (httpStatusOf(e) !== 404) throw e;
      if (instance.spot && (await wasPreempted(gce, c, zone, instance.instanceId))) return { state: 'terminated', stateReason: 'preempted' };
      return undefined;
    }
  });
}

async function wasPreempted(gce: Gce, c: Clients, zone: string, name: string): Promise<boolean> {
  const filter = 'operationType = "compute.instances.preempted"';
  for await (const op of c.zoneOperations.listAsync({ project: gce.project, zone, filter }, NO_AUTO_PAGINATE)) {
    if (op.operationType === 'compute.instances.preempted' && lastSegment(op.targetLink ?? '') === name) return true;
  }
  return false;
}

export async function terminate(gce: Gce, instance: Pick<CloudInstance, 'instanceId' | 'region' | 'backendData'>): Promise<void> {
  const zone = zoneOf(instance) ?? (await findZone(gce, instance.instanceId, instance.region));
  if (!zone) return;
  await gce.call('instances.delete', zone, async (c) => {
    try {
      const [op] = await c.instances.delete({ project: gce.project, zone, instance: instance.instanceId });
      await gce.wait(c, op.latestResponse, zone);
    } catch (e) {
      if (httpStatusOf(e) !== 404) throw e;
    }
  });
}

async function findZone(gce: Gce, name: string, region: string): Promise<string | undefined> {
  const found = await aggregated(gce, `name = "${name}"`);
  return found.find((f) => f.instance.name === name && f.zone.startsWith(`${region}-`))?.zone;
}

async function aggregated(gce: Gce, filter: string): Promise<{ zone: string; instance: Instance }[]> {
  return gce.call('instances.aggregatedList', 'global', async (c) => {
    const out: { zone: string; instance: Instance }[] = [];
    for await (const [scope, list] of c.instances.aggregatedListAsync({ project: gce.project, filter, returnPartialSuccess: true }, NO_AUTO_PAGINATE)) {
      for (const instance of list.instances ?? []) out.push({ zone: lastSegment(scope), instance });
    }
    return out;
  });
}

export async function listTagged(gce: Gce, project: string): Promise<TaggedInstance[]> {
  const label = labelValue(project);
  const found = await aggregated(gce, `labels.dstack_project = "${label}"`);
  return found
    .filter(({ instance }) => instance.labels?.dstack_project === label && instance.name)
    .map(({ zone, instance }) => {
      const [name, fleet] = [instance.labels?.dstack_instance, instance.labels?.dstack_fleet];
      return {
        instanceId: instance.name ?? '',
        region: zone.replace(/-[a-z]$/, ''),
        state: stateOf(instance),
        ...(name ? { instanceName: name } : {}),
        ...(fleet ? { fleet } : {}),
      };
    });
}
