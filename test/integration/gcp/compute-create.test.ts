// GcpCompute.createInstance against the GCE fake with the real @google-cloud/compute client: the request bodies
// for on-demand and spot, n1 + attached T4 vs built-in L4, labels on the VM and its disk, the SSH key in metadata,
// and the SSH firewall rule made once per project.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GcpCompute } from '../../../src/backends/gcp/index.js';
import type { CreateInstanceRequest } from '../../../src/backends/compute.js';
import type { Offer } from '../../../src/core/api.js';
import { useConnectGuard } from '../../helpers/aws/connect-guard.js';
import { projectKey } from '../../helpers/aws/requests.js';
import { startGcpFake, type GcpFake } from '../../helpers/gcp-fake/server.js';

useConnectGuard();
const GiB = 1024 ** 3;
let fake: GcpFake;

beforeAll(async () => {
  // The library costs seconds to import (more on a loaded machine): paid here, under the hook timeout.
  await import('@google-cloud/compute');
  fake = await startGcpFake({ project: 'p1', addresses: ['10.77.0.10', '10.77.0.11', '10.77.0.12', '10.77.0.13'] });
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.requests.length = 0;
  fake.clearFaults();
});

function gcp(project = 'main'): GcpCompute {
  return new GcpCompute({
    config: { type: 'gcp', project_id: 'p1', creds: { type: 'service_account', filename: fake.credentialsFile }, public_ips: true },
    project,
    env: { DSTACK_GCP_ENDPOINT: fake.endpoint },
    loadCatalog: () => Promise.reject(new Error('unused')),
    catalogOffers: () => [],
  });
}

function offer(instanceType: string, o: { spot?: boolean; zone?: string; gpu?: { name: string; memGiB: number; count: number } } = {}): Offer {
  const zone = o.zone ?? 'us-central1-a';
  const gpus = o.gpu ? Array.from({ length: o.gpu.count }, () => ({ name: o.gpu?.name ?? '', memoryMiB: (o.gpu?.memGiB ?? 0) * 1024, vendor: 'nvidia' })) : [];
  return { backend: 'gcp', region: zone.slice(0, -2), zone, instanceType, resources: { cpus: 4, memoryBytes: 16 * GiB, diskBytes: 100 * GiB, gpus, arch: 'x86' }, spot: o.spot ?? false, price: 0.7, availability: 'available' };
}

const L4 = { name: 'L4', memGiB: 24, count: 1 };
const T4 = { name: 'T4', memGiB: 16, count: 1 };

function request(o: Partial<CreateInstanceRequest> = {}): CreateInstanceRequest {
  return { project: 'main', fleet: 'gpu-fleet', instanceName: 'gpu-fleet-0', offer: offer('g2-standard-4', { gpu: L4 }), diskGiB: 120, sshPublicKey: projectKey().publicKey, ...o };
}

type Body = Record<string, unknown> & { scheduling?: Record<string, unknown>; labels?: Record<string, string>; disks?: { initializeParams?: Record<string, unknown> }[] };
const inserts = (): Body[] => fake.requestsTo('POST', /\/zones\/[^/]+\/instances$/).map((r) => r.body as Body);

describe('GcpCompute.createInstance', () => {
  it('on demand, built-in L4: g2 machine type, no attached accelerators, TERMINATE on host maintenance, labels on VM and disk, the key in metadata', async () => {
    const req = request();
    const created = await gcp().createInstance(req);
    expect(created).toMatchObject({ region: 'us-central1', zone: 'us-central1-a', instanceType: 'g2-standard-4', spot: false, user: 'ubuntu', sshPort: 22 });
    const [body] = inserts();
    expect(body).toMatchObject({ name: created.instanceId, machineType: 'zones/us-central1-a/machineTypes/g2-standard-4', tags: { items: ['dstack-main'] } });
    expect(body?.guestAccelerators).toBeUndefined();
    expect(body?.scheduling).toEqual({ onHostMaintenance: 'TERMINATE', automaticRestart: true });
    const labels = { dstack_project: 'main', dstack_fleet: 'gpu-fleet', dstack_instance: 'gpu-fleet-0' };
    expect(body?.labels).toEqual(labels);
    expect(body?.disks?.[0]?.initializeParams).toMatchObject({ labels, diskSizeGb: '120' });
    expect(String(body?.disks?.[0]?.initializeParams?.sourceImage)).toContain('projects/deeplearning-platform-release/global/images/');
    expect(body?.metadata).toMatchObject({ items: expect.arrayContaining([{ key: 'ssh-keys', value: `ubuntu:${req.sshPublicKey.trim()}` }]) as unknown });
    const vm = fake.instances().find((i) => i.name === created.instanceId);
    expect(vm).toMatchObject({ labels, scheduling: { provisioningModel: 'STANDARD' } });
  });

  it('spot, n1 + T4: the T4 attached as a guest accelerator, SPOT provisioning deleted on preemption', async () => {
    const created = await gcp().createInstance(request({ instanceName: 'gpu-fleet-1', offer: offer('n1-standard-4', { spot: true, gpu: T4 }) }));
    expect(created.spot).toBe(true);
    const [body] = inserts();
    expect(body?.guestAccelerators).toEqual([{ acceleratorType: 'projects/p1/zones/us-central1-a/acceleratorTypes/nvidia-tesla-t4', acceleratorCount: 1 }]);
    expect(body?.scheduling).toEqual({ provisioningModel: 'SPOT', instanceTerminationAction: 'DELETE', automaticRestart: false, onHostMaintenance: 'TERMINATE' });
    expect(fake.instances().find((i) => i.name === created.instanceId)).toMatchObject({ scheduling: { provisioningModel: 'SPOT', instanceTerminationAction: 'DELETE' } });
  });

  it('a CPU offer gets Ubuntu, no accelerators and no scheduling constraints; the disk is never smaller than the image', async () => {
    await gcp().createInstance(request({ instanceName: 'cpu-0', offer: offer('e2-standard-2'), diskGiB: 5 }));
    const [body] = inserts();
    expect(body?.scheduling).toEqual({});
    expect(String(body?.disks?.[0]?.initializeParams?.sourceImage)).toContain('projects/ubuntu-os-cloud/global/images/');
    expect(body?.disks?.[0]?.initializeParams?.diskSizeGb).toBe('10');
  });

  it('names that break GCE rules are sanitised: labels lowercased, resource names start with a letter', async () => {
    const created = await gcp('Team.ML').createInstance(request({ project: 'Team.ML', fleet: 'GPU_Fleet', instanceName: '0-Replica', offer: offer('e2-standard-2') }));
    expect(created.instanceId).toMatch(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/);
    expect(inserts()[0]?.labels).toEqual({ dstack_project: 'team-ml', dstack_fleet: 'gpu_fleet', dstack_instance: '0-replica' });
  });

  it('the SSH firewall rule is created once across creates, for the project tag, tcp:22 only; a second daemon takes the 409 as done', async () => {
    const compute = gcp('fw');
    await compute.createInstance(request({ project: 'fw', instanceName: 'a-0', offer: offer('e2-standard-2') }));
    await compute.createInstance(request({ project: 'fw', instanceName: 'a-1', offer: offer('e2-standard-2', { zone: 'us-central1-b' }) }));
    const posts = fake.requestsTo('POST', /\/global\/firewalls$/);
    expect(posts).toHaveLength(1);
    expect(posts[0]?.body).toMatchObject({ network: 'projects/p1/global/networks/default', direction: 'INGRESS', allowed: [{ IPProtocol: 'tcp', ports: ['22'] }], targetTags: ['dstack-fw'] });
    await gcp('fw').createInstance(request({ project: 'fw', instanceName: 'a-2', offer: offer('e2-standard-2') }));
    expect(fake.requestsTo('POST', /\/global\/firewalls$/).map((r) => r.status)).toEqual([200, 409]);
  });
});
