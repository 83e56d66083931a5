// Instances: insert/get/delete/list with GCE's validation where a backend bug would show (names, labels, machine
// type, accelerators vs live migration, spot scheduling), the PROVISIONING → STAGING → RUNNING lifecycle on a
// clock, addresses from the test's pool (namespace hosts), and the faults a test programs.
import { API_BASE, lastSegment, regionOf, stableId, type FakeAcceleratorType, type FakeImage, type FakeMachineType } from './catalog.js';
import { ApiError, alreadyExists, invalid, notFound, quotaExceeded, quotaOperationFailure, zoneExhausted, type OperationFailure } from './errors.js';
import type { Operations } from './operations.js';

/** Given when the address pool is used up: TEST-NET-1, which the connect guard refuses. */
export const UNASSIGNED_GCP_ADDRESS = '192.0.2.1';

export interface GcpDelays {
  provisioningMs: number;
  stagingMs: number;
  /** Until an insert operation is DONE. */
  insertMs: number;
  /** Until a delete operation is DONE and the instance is gone. */
  deleteMs: number;
}

export interface ZoneFault {
  zone: string;
  code: string;
  /** true: SPOT inserts only; false: STANDARD only; undefined: both. */
  spot?: boolean;
  machineType?: string;
}

export interface QuotaFault {
  /** `http`: the insert call answers 403; `operation`: the insert operation ends DONE with QUOTA_EXCEEDED. */
  via: 'http' | 'operation';
  metric: string;
}

interface Record_ {
  json: Record<string, unknown>;
  zone: string;
  createdAt: number;
  address: string;
  terminal?: 'STOPPING' | 'TERMINATED';
}

type Json = Record<string, unknown>;

const NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;

export interface InstancesDeps {
  ops: Operations;
  zones: string[];
  machineTypes: FakeMachineType[];
  acceleratorTypes: FakeAcceleratorType[];
  images: FakeImage[];
  addresses: string[];
  delays: GcpDelays;
}

export class FakeInstances {
  private readonly all = new Map<string, Record_>();
  readonly zoneFaults: ZoneFault[] = [];
  quota: QuotaFault | undefined;
  private readonly byRequestId = new Map<string, string>();

  constructor(private readonly d: InstancesDeps) {}

  private key = (project: string, zone: string, name: string): string => `${project}/${zone}/${name}`;

  insert(project: string, zone: string, body: Json, requestId?: string): Json {
    const prior = requestId ? this.byRequestId.get(requestId) : undefined;
    if (prior) {
      const op = this.d.ops.find(project, zone, prior);
      if (op) return this.d.ops.json(op);
    }
    const name = String(body.name ?? '');
    if (!NAME.test(name)) throw invalid('resource.name', name, 'Must be a match of regex \'(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?|[1-9][0-9]{0,19})\'');
    const targetLink = `${API_BASE}/projects/${project}/zones/${zone}/instances/${name}`;
    if (this.all.has(this.key(project, zone, name))) throw alreadyExists(`projects/${project}/zones/${zone}/instances/${name}`);
    const json = this.build(project, zone, name, body);
    const sched = json.scheduling as Json;
    const spot = sched.provisioningModel === 'SPOT';
    if (this.quota?.via === 'http') throw quotaExceeded(this.quota.metric, regionOf(zone));
    const fault = this.zoneFaults.find((f) => f.zone === zone && (f.spot === undefined || f.spot === spot) && (!f.machineType || f.machineType === lastSegment(String(json.machineType))));
    const failure: OperationFailure | undefined = fault ? zoneExhausted(project, zone, fault.code) : this.quota ? quotaOperationFailure(this.quota.metric, regionOf(zone)) : undefined;
    if (!failure) {
      const address = this.d.addresses.find((a) => ![...this.all.values()].some((r) => r.address === a)) ?? UNASSIGNED_GCP_ADDRESS;
      const nic = (json.networkInterfaces as Json[])[0] as Json;
      nic.networkIP = address;
      for (const ac of (nic.accessConfigs as Json[] | undefined) ?? []) ac.natIP = address;
      this.all.set(this.key(project, zone, name), { json, zone, createdAt: Date.now(), address });
    }
    const op = this.d.ops.start({ project, zone, operationType: 'insert', targetLink, targetId: String(json.id), delayMs: this.d.delays.insertMs, failure });
    if (requestId) this.byRequestId.set(requestId, op.name);
    return this.d.ops.json(op);
  }

  get(project: string, zone: string, name: string): Json {
    const r = this.all.get(this.key(project, zone, name));
    if (!r) throw notFound(`projects/${project}/zones/${zone}/instances/${name}`);
    return this.view(r);
  }

  delete(project: string, zone: string, name: string): Json {
    const key = this.key(project, zone, name);
    const r = this.all.get(key);
    if (!r) throw notFound(`projects/${project}/zones/${zone}/instances/${name}`);
    r.terminal = 'STOPPING';
    const op = this.d.ops.start({ project, zone, operationType: 'delete', targetLink: String(r.json.selfLink), targetId: String(r.json.id), delayMs: this.d.delays.deleteMs, onDone: () => this.all.delete(key) });
    return this.d.ops.json(op);
  }

  list(project: string, zone: string): Json[] {
    this.d.ops.settle();
    return [...this.all.entries()].filter(([k, r]) => k.startsWith(`${project}/`) && r.zone === zone).map(([, r]) => this.view(r));
  }

  /** Every instance of the fake, in its current state (for assertions). */
  snapshot(): Json[] {
    this.d.ops.settle();
    return [...this.all.values()].map((r) => this.view(r));
  }

  /** A spot preemption: TERMINATED (or gone, with instanceTerminationAction DELETE) plus GCE's system operation. */
  preempt(name: string): void {
    const [key, r] = this.find(name);
    const sched = r.json.scheduling as Json;
    if (sched.provisioningModel !== 'SPOT' && sched.preemptible !== true) throw new Error(`gcp-fake: ${name} is not a spot instance; only spot instances are preempted`);
    const project = key.split('/')[0] as string;
    this.d.ops.start({ project, zone: r.zone, operationType: 'compute.instances.preempted', targetLink: String(r.json.selfLink), targetId: String(r.json.id), delayMs: 0, user: 'system', statusMessage: 'Instance was preempted.' });
    if (sched.instanceTerminationAction === 'DELETE') this.all.delete(key);
    else this.terminate(r);
  }

  /** The instance disappears without any call through the API (a user in the console, another tool). */
  deleteBehindBack(name: string): void {
    this.all.delete(this.find(name)[0]);
  }

  private terminate(r: Record_): void {
    r.terminal = 'TERMINATED';
    r.json.lastStopTimestamp = new Date().toISOString();
    // A stopped VM loses its ephemeral external address.
    for (const ac of (((r.json.networkInterfaces as Json[])[0] as Json).accessConfigs as Json[] | undefined) ?? []) delete ac.natIP;
  }

  private find(name: string): [string, Record_] {
    const hit = [...this.all.entries()].find(([, r]) => r.json.name === name);
    if (!hit) throw new Error(`gcp-fake: no instance named ${name}`);
    return hit;
  }

  private view(r: Record_): Json {
    const age = Date.now() - r.createdAt;
    const { provisioningMs, stagingMs } = this.d.delays;
    const status = r.terminal ?? (age < provisioningMs ? 'PROVISIONING' : age < provisioningMs + stagingMs ? 'STAGING' : 'RUNNING');
    return structuredClone({ ...r.json, status, ...(status === 'RUNNING' ? { lastStartTimestamp: new Date(r.createdAt + provisioningMs + stagingMs).toISOString() } : {}) });
  }

  private build(project: string, zone: string, name: string, body: Json): Json {
    const zoneUrl = `${API_BASE}/projects/${project}/zones/${zone}`;
    if (!this.d.zones.includes(zone)) throw notFound(`projects/${project}/zones/${zone}`);
    const mtName = lastSegment(String(body.machineType ?? ''));
    const mt = this.d.machineTypes.find((t) => t.name === mtName);
    if (!mt) throw invalid('resource.machineType', body.machineType ?? '', `Machine type with name '${mtName}' does not exist in zone '${zone}'.`);
    const labels = (body.labels ?? {}) as Record<string, string>;
    for (const [k, v] of Object.entries(labels)) {
      if (!LABEL_KEY.test(k) || !LABEL_VALUE.test(String(v))) throw invalid('labels', `${k}=${v}`, 'Label keys must start with a lowercase letter; keys and values may contain only lowercase letters, digits, _ and -, at most 63 characters.');
    }
    const accelerators = ((body.guestAccelerators as Json[] | undefined) ?? []).map((a) => {
      const t = lastSegment(String(a.acceleratorType ?? ''));
      if (!this.d.acceleratorTypes.some((x) => x.name === t)) throw invalid('resource.guestAccelerators[0].acceleratorType', a.acceleratorType, `Accelerator type '${t}' does not exist in zone '${zone}'.`);
      return { acceleratorType: `${zoneUrl}/acceleratorTypes/${t}`, acceleratorCount: Number(a.acceleratorCount ?? 1) };
    });
    if (accelerators.length > 0 && mt.accelerators) throw invalid('resource.guestAccelerators', accelerators, `Machine type ${mt.name} has built-in accelerators; do not attach more.`);
    const builtIn = (mt.accelerators ?? []).map((a) => ({ acceleratorType: `${zoneUrl}/acceleratorTypes/${a.guestAcceleratorType}`, acceleratorCount: a.guestAcceleratorCount }));
    const hasGpu = accelerators.length + builtIn.length > 0;
    const s = (body.scheduling ?? {}) as Json;
    const spot = s.provisioningModel === 'SPOT';
    const scheduling = {
      onHostMaintenance: s.onHostMaintenance ?? (spot || hasGpu ? 'TERMINATE' : 'MIGRATE'),
      automaticRestart: s.automaticRestart ?? !spot,
      preemptible: spot || s.preemptible === true,
      provisioningModel: spot ? 'SPOT' : 'STANDARD',
      ...(spot ? { instanceTerminationAction: s.instanceTerminationAction ?? 'STOP' } : s.instanceTerminationAction ? { instanceTerminationAction: s.instanceTerminationAction } : {}),
    };
    if (hasGpu && scheduling.onHostMaintenance === 'MIGRATE') throw new ApiError(400, 'badRequest', 'Instances with guest accelerators do not support live migration.');
    if (spot && (scheduling.onHostMaintenance !== 'TERMINATE' || scheduling.automaticRestart === true)) throw invalid('resource.scheduling', s, 'Spot VMs require onHostMaintenance TERMINATE and automaticRestart false.');
    const nics = (body.networkInterfaces as Json[] | undefined) ?? [];
    if (nics.length === 0) throw invalid('resource.networkInterfaces', '', 'At least one network interface is required.');
    const disks = ((body.disks as Json[] | undefined) ?? []).map((d, index) => this.disk(project, zone, name, d, index));
    if (!disks.some((d) => d.boot === true)) throw invalid('resource.disks', '', 'Boot disk must be specified.');
    const selfLink = `${zoneUrl}/instances/${name}`;
    const meta = (body.metadata ?? {}) as Json;
    return {
      kind: 'compute#instance',
      id: stableId(`${selfLink}/${Date.now()}`),
      creationTimestamp: new Date().toISOString(),
      name,
      ...(body.description ? { description: body.description } : {}),
      tags: { items: ((body.tags as Json | undefined)?.items as string[] | undefined) ?? [], fingerprint: '42WmSpB8rSM=' },
      machineType: `${zoneUrl}/machineTypes/${mt.name}`,
      zone: zoneUrl,
      canIpForward: false,
      networkInterfaces: nics.map((n, i) => ({
        kind: 'compute#networkInterface',
        network: n.network ? `${API_BASE}/projects/${project}/global/networks/${lastSegment(String(n.network))}` : `${API_BASE}/projects/${project}/global/networks/default`,
        subnetwork: `${API_BASE}/projects/${project}/regions/${regionOf(zone)}/subnetworks/${n.subnetwork ? lastSegment(String(n.subnetwork)) : 'default'}`,
        name: `nic${i}`,
        stackType: 'IPV4_ONLY',
        fingerprint: 'Tz2nSHG9Lho=',
        ...(Array.isArray(n.accessConfigs) ? { accessConfigs: (n.accessConfigs as Json[]).map((a) => ({ kind: 'compute#accessConfig', type: a.type ?? 'ONE_TO_ONE_NAT', name: a.name ?? 'External NAT', networkTier: a.networkTier ?? 'PREMIUM' })) } : {}),
      })),
      disks,
      metadata: { kind: 'compute#metadata', fingerprint: 'sMHlPu7ZPvA=', items: (meta.items as Json[] | undefined) ?? [] },
      ...(body.serviceAccounts ? { serviceAccounts: body.serviceAccounts } : {}),
      selfLink,
      scheduling,
      cpuPlatform: 'Intel Cascade Lake',
      labels,
      labelFingerprint: 'vezUS-42LLM=',
      startRestricted: false,
      deletionProtection: false,
      ...(hasGpu ? { guestAccelerators: [...builtIn, ...accelerators] } : {}),
      fingerprint: 'Pd5NrM7ivTQ=',
    };
  }

  private disk(project: string, zone: string, instance: string, d: Json, index: number): Json {
    const init = (d.initializeParams ?? {}) as Json;
    const deviceName = String(d.deviceName ?? (index === 0 ? instance : `persistent-disk-${index}`));
    let size = init.diskSizeGb !== undefined ? Number(init.diskSizeGb) : undefined;
    if (init.sourceImage !== undefined) {
      const src = String(init.sourceImage);
      const m = /projects\/([^/]+)\/global\/images\/(?:family\/)?([^/]+)$/.exec(src);
      const image = m && this.d.images.find((i) => i.project === m[1] && (src.includes('/family/') ? i.family === m[2] : i.name === m[2]));
      if (!image) throw notFound(src.replace(/^.*?(projects\/)/, '$1'));
      const min = image.diskSizeGb ?? 10;
      if (size !== undefined && size < min) throw invalid('resource.disks[0].initializeParams.diskSizeGb', String(size), `Requested disk size cannot be smaller than the image size (${min} GB)`);
      size ??= min;
    }
    return {
      kind: 'compute#attachedDisk',
      type: 'PERSISTENT',
      mode: 'READ_WRITE',
      source: `${API_BASE}/projects/${project}/zones/${zone}/disks/${deviceName}`,
      deviceName,
      index,
      boot: d.boot === true,
      autoDelete: d.autoDelete ?? false,
      interface: 'SCSI',
      diskSizeGb: String(size ?? 10),
      architecture: 'X86_64',
    };
  }
}
