// Describe, terminate and the label sweep against the GCE fake with the real client: addresses once running,
// delete terminates exactly what was created, a daemon that crashed finds its VMs again by label, and a preempted
// spot VM says so.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CloudInstance, CreateInstanceRequest } from '../../../src/backends/compute.js';
import { GcpCompute } from '../../../src/backends/gcp/index.js';
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
  fake = await startGcpFake({ project: 'p1', addresses: ['10.77.0.30', '10.77.0.31', '10.77.0.32', '10.77.0.33', '10.77.0.34'] });
});
afterAll(() => fake.close());
beforeEach(() => fake.clearFaults());

function gcp(): GcpCompute {
  return new GcpCompute({
    config: { type: 'gcp', project_id: 'p1', creds: { type: 'service_account', filename: fake.credentialsFile }, public_ips: true },
    project: 'main',
    env: { DSTACK_GCP_ENDPOINT: fake.endpoint },
    loadCatalog: () => Promise.reject(new Error('unused')),
    catalogOffers: () => [],
  });
}

function offer(spot: boolean, zone = 'us-central1-a'): Offer {
  const gpus = [{ name: 'T4', memoryMiB: 16 * 1024, vendor: 'nvidia' }];
  return { backend: 'gcp', region: 'us-central1', zone, instanceType: 'n1-standard-4', resources: { cpus: 4, memoryBytes: 15 * GiB, diskBytes: 100 * GiB, gpus, arch: 'x86' }, spot, price: 0.2, availability: 'available' };
}

function request(project: string, instanceName: string, o: Partial<CreateInstanceRequest> = {}): CreateInstanceRequest {
  return { project, fleet: 'fleet', instanceName, offer: offer(false), diskGiB: 100, sshPublicKey: projectKey().publicKey, ...o };
}

async function untilRunning(compute: GcpCompute, instance: CloudInstance): Promise<Awaited<ReturnType<GcpCompute['describeInstance']>>> {
  for (;;) {
    const d = await compute.describeInstance(instance);
    if (d?.state !== 'pending') return d;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const names = (): string[] => fake.instances().map((i) => String(i.name));

describe('GcpCompute lifecycle', () => {
  it('describe: pending, then running with the NAT address as hostname and the network IP as internalIp', async () => {
    const compute = gcp();
    const created = await compute.createInstance(request('life', 'a-0'));
    const running = await untilRunning(compute, created);
    const vm = fake.instances().find((i) => i.name === created.instanceId) as { networkInterfaces: { networkIP: string }[] };
    expect(running).toEqual({ state: 'running', hostname: vm.networkInterfaces[0]?.networkIP, internalIp: vm.networkInterfaces[0]?.networkIP });
  });

  it('terminate deletes exactly the VM it was given; a second terminate (404) is success; describe then says gone', async () => {
    const compute = gcp();
    const keep = await compute.createInstance(request('del', 'keep-0'));
    const drop = await compute.createInstance(request('del', 'drop-0', { offer: offer(false, 'us-central1-b') }));
    await compute.terminateInstance(drop);
    expect(names()).toContain(keep.instanceId);
    expect(names()).not.toContain(drop.instanceId);
    await expect(compute.terminateInstance(drop)).resolves.toBeUndefined();
    expect(await compute.describeInstance(drop)).toBeUndefined();
    const deletes = fake.requestsTo('DELETE', /\/instances\//).map((r) => r.path);
    expect(deletes.every((p) => p.endsWith(`/zones/us-central1-b/instances/${drop.instanceId}`))).toBe(true);
  });

  it("after a crash, a new daemon finds the project's VMs by label and terminates them by id and region alone", async () => {
    const before = gcp();
    const left = [await before.createInstance(request('crashy', 'c-0')), await before.createInstance(request('crashy', 'c-1', { offer: offer(false, 'us-central1-c') }))];
    await before.createInstance(request('other', 'o-0'));
    const after = gcp();
    const tagged = await after.listTagged('crashy');
    expect(tagged.map((t) => [t.instanceId, t.region, t.fleet, t.instanceName]).sort()).toEqual(
      left.map((l, i) => [l.instanceId, 'us-central1', 'fleet', `c-${i}`]).sort(),
    );
    for (const t of tagged) await after.terminateInstance({ instanceId: t.instanceId, region: t.region });
    expect(await after.listTagged('crashy')).toEqual([]);
    expect((await after.listTagged('other')).map((t) => t.instanceName)).toEqual(['o-0']);
  });

  it("a preempted spot VM (deleted by GCE) reads as terminated with reason 'preempted'; one deleted behind dstack's back is just gone", async () => {
    const compute = gcp();
    const spot = await compute.createInstance(request('spot', 's-0', { offer: offer(true) }));
    const other = await compute.createInstance(request('spot', 's-1', { offer: offer(true, 'us-central1-b') }));
    fake.preempt(spot.instanceId);
    fake.deleteBehindBack(other.instanceId);
    expect(await compute.describeInstance(spot)).toEqual({ state: 'terminated', stateReason: 'preempted' });
    expect(await compute.describeInstance(other)).toBeUndefined();
  });
});
