// After RunInstances: the address (a namespace test host, reached over SSH with the project key as on a real VM),
// terminate (idempotent), and the tag listing the daemon's sweep relies on.
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DescribeSpotInstanceRequestsCommand, EC2Client, RequestSpotInstancesCommand } from '@aws-sdk/client-ec2';
import { Client } from 'ssh2';
import { describe, expect, it } from 'vitest';
import { AwsCompute } from '../../../src/backends/aws/index.js';
import type { CloudInstance } from '../../../src/backends/compute.js';
import { UNASSIGNED_ADDRESS } from '../../helpers/aws/ec2-front.js';
import { TEST_ACCESS_KEY, TEST_SECRET_KEY, useAwsHarness } from '../../helpers/aws/harness.js';
import { FIXTURE_AMIS } from '../../helpers/aws/moto.js';
import { createRequest, gpuOffer, projectKey } from '../../helpers/aws/requests.js';

const h = useAwsHarness();

function compute(regions = ['us-east-1']): AwsCompute {
  return new AwsCompute({ config: h.config({ regions }), project: 'main', env: h.env(), loadCatalog: () => Promise.reject(new Error('unused')), catalogOffers: () => [] });
}

function sshRun(instance: CloudInstance, privateKey: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client
      .once('ready', () =>
        client.exec(command, (err, stream) => {
          if (err) return reject(err);
          let out = '';
          stream.on('data', (d: Buffer) => (out += d.toString())).once('close', () => {
            client.end();
            resolve(out.trim());
          });
        }),
      )
      .once('error', reject)
      .connect({ host: instance.hostname, port: instance.sshPort, username: instance.user, privateKey, readyTimeout: 20_000 });
  });
}

describe('AwsCompute after launch', () => {
  it("gives the instance a namespace test host's address, reachable over SSH with the project key until it is terminated", async () => {
    const key = projectKey();
    const aws = compute();
    const created = await aws.createInstance(createRequest({ sshPublicKey: key.publicKey }));
    const host = h.front.hostOf(created.instanceId);
    expect(host).toBeDefined();
    expect(created).toMatchObject({ hostname: host?.ip, internalIp: host?.ip, user: 'root', sshPort: 22 });
    await expect(aws.describeInstance(created)).resolves.toEqual({ state: 'running', hostname: host?.ip, internalIp: host?.ip });

    expect(await sshRun(created, key.privateKey, 'echo "$DSTACK_TEST_HOST"')).toBe(host?.name);

    await aws.terminateInstance(created);
    const authorized = readFileSync(`${dirname((host?.dockerHost ?? '').replace('unix://', ''))}/authorized_keys`, 'utf8');
    expect(authorized).not.toContain(key.publicKey.split(' ')[1]);
    await expect(sshRun(created, key.privateKey, 'true')).rejects.toThrow(/authentication/i);
  });

  it('gives each instance its own host, and addresses no host has once the pool is used up', async () => {
    const aws = compute();
    const created: CloudInstance[] = [];
    for (let i = 0; i <= h.hosts.length; i++) created.push(await aws.createInstance(createRequest({ instanceName: `gpu-fleet-${i}` })));
    const addresses = created.map((c) => c.hostname);
    expect(new Set(addresses.slice(0, -1)).size).toBe(h.hosts.length);
    expect(addresses.slice(0, -1).every((a) => h.hosts.some((host) => host.ip === a))).toBe(true);
    expect(addresses.at(-1)).toBe(UNASSIGNED_ADDRESS);
  });

  it('an abort while RunInstances is in flight terminates the instance it made, so nothing is left running', async () => {
    const aws = compute();
    const hold = h.front.pause('RunInstances');
    const controller = new AbortController();
    const creating = aws.createInstance(createRequest(), controller.signal).catch((e: unknown) => e);
    await hold.reached;
    controller.abort(new Error('fleet deleted'));
    hold.release();
    expect(await creating).toMatchObject({ message: 'fleet deleted' });
    const tagged = await aws.listTagged('main');
    expect(tagged).toHaveLength(1);
    expect(tagged[0]?.state).toBe('terminated');
    expect(h.front.callsTo('TerminateInstances').map((c) => c.params['InstanceId.1'])).toEqual([tagged[0]?.instanceId]);
  });

  it('a spot interruption behind our back shows as terminated with its EC2 reason', async () => {
    const aws = compute();
    const created = await aws.createInstance(createRequest({ offer: gpuOffer({ spot: true }) }));
    await h.front.interruptSpot(created.instanceId);
    await expect(aws.describeInstance(created)).resolves.toMatchObject({ state: 'terminated', stateReason: 'Server.SpotInstanceTermination' });
    expect(await aws.listTagged('main')).toMatchObject([{ instanceId: created.instanceId, state: 'terminated', stateReason: 'Server.SpotInstanceTermination' }]);
    expect(h.front.hostOf(created.instanceId)).toBeUndefined();
  });

  it('terminate is idempotent: twice, and for an instance EC2 never had', async () => {
    const aws = compute();
    const created = await aws.createInstance(createRequest());
    await aws.terminateInstance(created);
    await aws.terminateInstance(created);
    await aws.terminateInstance({ instanceId: 'i-0123456789abcdef0', region: 'us-east-1' });
    await expect(aws.describeInstance(created)).resolves.toMatchObject({ state: 'terminated', stateReason: 'Client.UserInitiatedShutdown' });
    await expect(aws.describeInstance({ ...created, instanceId: 'i-0123456789abcdef0' })).resolves.toBeUndefined();
  });

  it('terminating a spot instance also cancels its spot request', async () => {
    const aws = compute();
    const created = await aws.createInstance(createRequest({ offer: gpuOffer({ spot: true }) }));
    // moto's RunInstances makes no spot request of its own (and fails on unknown ids): make one to be cancelled.
    const ec2 = new EC2Client({ region: 'us-east-1', endpoint: h.motoUrl, credentials: { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY }, maxAttempts: 1 });
    const requested = await ec2.send(new RequestSpotInstancesCommand({ InstanceCount: 1, LaunchSpecification: { ImageId: FIXTURE_AMIS.nvidia, InstanceType: 'g5.xlarge' } }));
    const requestId = requested.SpotInstanceRequests?.[0]?.SpotInstanceRequestId ?? '';
    const open = async () => (await ec2.send(new DescribeSpotInstanceRequestsCommand({}))).SpotInstanceRequests?.filter((r) => r.SpotInstanceRequestId === requestId && r.State !== 'cancelled') ?? [];
    expect(await open()).toHaveLength(1);
    await aws.terminateInstance({ ...created, backendData: { spotInstanceRequestId: requestId } });
    expect(h.front.callsTo('CancelSpotInstanceRequests').map((c) => c.params['SpotInstanceRequestId.1'])).toEqual([requestId]);
    // moto forgets a cancelled request; EC2 shows it as `cancelled`: either way it is no longer open.
    expect(await open()).toHaveLength(0);
    ec2.destroy();
  });

  it("lists every instance tagged with the project in each configured region, with fleet, name and state, and no other project's", async () => {
    const aws = compute(['us-east-1', 'eu-west-1']);
    const a = await aws.createInstance(createRequest({ fleet: 'f1', instanceName: 'f1-0' }));
    const b = await aws.createInstance(createRequest({ fleet: 'f2', instanceName: 'f2-0', offer: { ...createRequest().offer, region: 'eu-west-1' } }));
    await new AwsCompute({ config: h.config(), project: 'other', env: h.env(), loadCatalog: () => Promise.reject(new Error('unused')), catalogOffers: () => [] }).createInstance(
      createRequest({ project: 'other', fleet: 'x', instanceName: 'x-0' }),
    );
    await aws.terminateInstance(a);
    const tagged = await aws.listTagged('main');
    expect(tagged.sort((x, y) => x.region.localeCompare(y.region))).toEqual([
      { instanceId: b.instanceId, region: 'eu-west-1', state: 'running', instanceName: 'f2-0', fleet: 'f2' },
      { instanceId: a.instanceId, region: 'us-east-1', state: 'terminated', instanceName: 'f1-0', fleet: 'f1', stateReason: 'Client.UserInitiatedShutdown' },
    ]);
    expect(await aws.listTagged('nobody')).toEqual([]);
  });

  it('without configured regions, lists the regions of the aws catalog', async () => {
    const catalog = { provider: 'aws', date: '2026-11-20', source: 'test', items: [] as never[] };
    const item = (location: string) => ({ provider: 'aws', instanceName: 'g5.xlarge', location, price: 1, cpu: 4, memoryGiB: 16, gpuCount: 1, spot: false, flags: [], cpuArch: 'x86' });
    const aws = new AwsCompute({
      config: { ...h.config(), regions: undefined },
      project: 'main',
      env: h.env(),
      loadCatalog: () => Promise.resolve({ ...catalog, items: [item('us-west-2'), item('us-east-1'), item('us-west-2')] }),
      catalogOffers: () => [],
    });
    await aws.listTagged('main');
    expect(h.front.callsTo('DescribeInstances').map((c) => c.region).sort()).toEqual(['us-east-1', 'us-west-2']);
  });
});
