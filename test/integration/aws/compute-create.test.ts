// AwsCompute.createInstance on the real SDK against moto, through the EC2 front (test/helpers/aws).
import { EC2Client, DescribeKeyPairsCommand, DescribeSecurityGroupsCommand, DescribeVolumesCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { AwsCompute } from '../../../src/backends/aws/index.js';
import type { AwsBackendConfig } from '../../../src/core/home/backends-config.js';
import { OfferUnavailableError } from '../../../src/backends/compute.js';
import { FIXTURE_AMIS } from '../../helpers/aws/moto.js';
import { TEST_ACCESS_KEY, TEST_SECRET_KEY, useAwsHarness } from '../../helpers/aws/harness.js';
import { cpuOffer, createRequest, gpuOffer } from '../../helpers/aws/requests.js';

const h = useAwsHarness();

function compute(config: AwsBackendConfig = h.config(), env: Record<string, string> = h.env()): AwsCompute {
  return new AwsCompute({ config, project: 'main', env, loadCatalog: () => Promise.reject(new Error('no catalog in these tests')), catalogOffers: () => [] });
}

/** A plain SDK client straight to moto, to see what EC2 ended up with. */
function moto(): EC2Client {
  return new EC2Client({ region: 'us-east-1', endpoint: h.motoUrl, credentials: { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY }, maxAttempts: 1 });
}

const tagsOf = (tags: { Key?: string; Value?: string }[] | undefined) => Object.fromEntries((tags ?? []).map((t) => [t.Key, t.Value]));

describe('AwsCompute.createInstance', () => {
  it('creates the key pair and the SSH-only security group once per project and region, tagged, and reuses them', async () => {
    const aws = compute();
    const key = createRequest().sshPublicKey;
    await aws.createInstance(createRequest({ instanceName: 'gpu-fleet-0', sshPublicKey: key }));
    await aws.createInstance(createRequest({ instanceName: 'gpu-fleet-1', sshPublicKey: key }));
    // A restarted daemon finds them by name instead of making new ones.
    await compute().createInstance(createRequest({ instanceName: 'gpu-fleet-2', sshPublicKey: key }));

    expect(h.front.callsTo('ImportKeyPair')).toHaveLength(1);
    expect(h.front.callsTo('CreateSecurityGroup')).toHaveLength(1);
    expect(h.front.callsTo('AuthorizeSecurityGroupIngress')).toHaveLength(1);
    expect(h.front.callsTo('RunInstances')).toHaveLength(3);

    const ec2 = moto();
    const keys = await ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['dstack-main'], IncludePublicKey: true }));
    expect(keys.KeyPairs?.[0]?.PublicKey?.split(' ')[1]).toBe(key.split(' ')[1]);
    expect(tagsOf(keys.KeyPairs?.[0]?.Tags)).toEqual({ Name: 'dstack-main', dstack_project: 'main' });
    const groups = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: ['dstack-main'] }] }));
    expect(groups.SecurityGroups).toHaveLength(1);
    const group = groups.SecurityGroups?.[0];
    expect(tagsOf(group?.Tags)).toEqual({ Name: 'dstack-main', dstack_project: 'main' });
    expect(group?.IpPermissions?.map((p) => [p.IpProtocol, p.FromPort, p.ToPort, p.IpRanges?.map((r) => r.CidrIp)])).toEqual([['tcp', 22, 22, ['0.0.0.0/0']]]);
    ec2.destroy();
  });

  it('replaces the key pair when the project key changed, so new instances take the current key', async () => {
    await compute().createInstance(createRequest({ sshPublicKey: createRequest().sshPublicKey }));
    const newKey = createRequest().sshPublicKey;
    await compute().createInstance(createRequest({ instanceName: 'gpu-fleet-1', sshPublicKey: newKey }));
    expect(h.front.callsTo('DeleteKeyPair')).toHaveLength(1);
    const ec2 = moto();
    const keys = await ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['dstack-main'], IncludePublicKey: true }));
    expect(keys.KeyPairs?.[0]?.PublicKey?.split(' ')[1]).toBe(newKey.split(' ')[1]);
    ec2.destroy();
  });

  it('tags the instance and its volume with project, fleet and instance name, and sizes the gp3 root volume from the request', async () => {
    const created = await compute().createInstance(createRequest({ fleet: 'llm', instanceName: 'llm-3', diskGiB: 120 }));
    const ec2 = moto();
    const found = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [created.instanceId] }));
    const instance = found.Reservations?.[0]?.Instances?.[0];
    const want = { Name: 'llm-3', dstack_project: 'main', dstack_fleet: 'llm', dstack_instance: 'llm-3' };
    expect(tagsOf(instance?.Tags)).toEqual(want);
    const volumes = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [created.instanceId] }] }));
    expect(volumes.Volumes).toHaveLength(1);
    expect(tagsOf(volumes.Volumes?.[0]?.Tags)).toEqual(want);
    expect(volumes.Volumes?.[0]).toMatchObject({ Size: 120, VolumeType: 'gp3' });
    ec2.destroy();
  });

  it('asks for on-demand without market options, and for spot as a one-time request that terminates, capped at max_price', async () => {
    const aws = compute();
    const onDemand = await aws.createInstance(createRequest({ instanceName: 'a-0', maxPrice: 2 }));
    const spot = await aws.createInstance(createRequest({ instanceName: 'a-1', offer: gpuOffer({ spot: true, price: 0.45 }), maxPrice: 0.5 }));
    const spotNoMax = await aws.createInstance(createRequest({ instanceName: 'a-2', offer: gpuOffer({ spot: true, price: 0.45 }) }));
    const [od, sp, spNoMax] = h.front.callsTo('RunInstances').map((c) => c.params);
    expect(Object.keys(od ?? {}).filter((k) => k.startsWith('InstanceMarketOptions'))).toEqual([]);
    expect(sp).toMatchObject({
      'InstanceMarketOptions.MarketType': 'spot',
      'InstanceMarketOptions.SpotOptions.SpotInstanceType': 'one-time',
      'InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior': 'terminate',
      'InstanceMarketOptions.SpotOptions.MaxPrice': '0.5',
    });
    expect(spNoMax?.['InstanceMarketOptions.MarketType']).toBe('spot');
    expect(spNoMax?.['InstanceMarketOptions.SpotOptions.MaxPrice']).toBeUndefined();
    expect([onDemand.spot, spot.spot, spotNoMax.spot]).toEqual([false, true, true]);
    const ec2 = moto();
    const found = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [onDemand.instanceId, spot.instanceId] }));
    const lifecycle = Object.fromEntries(found.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => [i.InstanceId, i.InstanceLifecycle ?? 'on-demand']) ?? []);
    expect(lifecycle).toEqual({ [onDemand.instanceId]: 'on-demand', [spot.instanceId]: 'spot' });
    ec2.destroy();
  });

  it('spot_policy auto: a spot offer without capacity fails over to the next offer, the same type on demand', async () => {
    h.front.fail({ action: 'RunInstances', spot: true, code: 'InsufficientInstanceCapacity' });
    const aws = compute();
    await expect(aws.createInstance(createRequest({ offer: gpuOffer({ spot: true, price: 0.45 }) }))).rejects.toMatchObject({ kind: 'no_capacity', providerCode: 'InsufficientInstanceCapacity' });
    const created = await aws.createInstance(createRequest({ offer: gpuOffer({ spot: false }) }));
    expect(created.spot).toBe(false);
    const runs = h.front.callsTo('RunInstances');
    expect(runs.filter((c) => c.injected).every((c) => c.params['InstanceMarketOptions.MarketType'] === 'spot')).toBe(true);
    expect(runs.at(-1)?.status).toBe(200);
  });

  it("with a default configuration, finds dstack's default image of each kind by name and owner, user ubuntu", async () => {
    const aws = compute({ type: 'aws', creds: { type: 'default' }, regions: ['us-east-1'] });
    const gpu = await aws.createInstance(createRequest({ instanceName: 'g-0' }));
    const cpu = await aws.createInstance(createRequest({ instanceName: 'c-0', offer: cpuOffer() }));
    const arm = await aws.createInstance(createRequest({ instanceName: 'arm-0', offer: cpuOffer({ instanceType: 'm6g.large', resources: { cpus: 2, memoryBytes: 8 * 1024 ** 3, diskBytes: 0, gpus: [], arch: 'arm' } }) }));
    expect([gpu, cpu, arm].map((i) => [(i.backendData as { imageId: string }).imageId, i.user])).toEqual([
      [FIXTURE_AMIS.nvidia, 'ubuntu'],
      [FIXTURE_AMIS.cpu, 'ubuntu'],
      [FIXTURE_AMIS.cpuArm, 'ubuntu'],
    ]);
    const describes = h.front.callsTo('DescribeImages').map((c) => [c.params['Owner.1'], c.params['Filter.1.Value.1']]);
    expect(describes).toEqual([
      ['amazon', 'Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) *'],
      ['099720128477', 'ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*'],
      ['099720128477', 'ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-arm64-server-*'],
    ]);
  });

  it('takes os_images from the configuration (owner self, its own root device and user)', async () => {
    const aws = compute(h.config({ os_images: { cpu: { name: 'dstack-test-custom-*', owner: 'self', user: 'admin' } } }));
    const created = await aws.createInstance(createRequest({ offer: cpuOffer(), diskGiB: 30 }));
    expect(created.user).toBe('admin');
    expect((created.backendData as { imageId: string }).imageId).toBe(FIXTURE_AMIS.custom);
    expect(h.front.callsTo('RunInstances')[0]?.params).toMatchObject({ 'BlockDeviceMapping.1.DeviceName': '/dev/xvda', 'BlockDeviceMapping.1.Ebs.VolumeSize': '30' });
  });

  it('an image that is not there makes the offer unavailable, naming the name, the owner and the region', async () => {
    const aws = compute(h.config({ os_images: { nvidia: { name: 'no-such-image-*', owner: '111122223333', user: 'ubuntu' } } }));
    const err = await aws.createInstance(createRequest()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OfferUnavailableError);
    expect((err as Error).message).toContain('"no-such-image-*"');
    expect((err as Error).message).toContain('owned by 111122223333');
    expect((err as Error).message).toContain('us-east-1');
    expect(h.front.callsTo('RunInstances')).toHaveLength(0);
  });

  it('launches into a capacity reservation in its zone, after checking it exists', async () => {
    h.front.addCapacityReservation({ id: 'cr-0123456789abcdef0', region: 'us-east-1', zone: 'us-east-1c', instanceType: 'g5.xlarge', available: 1 });
    const created = await compute().createInstance(createRequest({ reservation: 'cr-0123456789abcdef0' }));
    expect(created.zone).toBe('us-east-1c');
    expect(h.front.callsTo('DescribeCapacityReservations')[0]?.injected).toBe('fake');
    expect(h.front.callsTo('RunInstances')[0]?.params).toMatchObject({
      'CapacityReservationSpecification.CapacityReservationTarget.CapacityReservationId': 'cr-0123456789abcdef0',
      'Placement.AvailabilityZone': 'us-east-1c',
    });
  });

  it('a reservation that does not exist, is for another type, or is used up makes the offer unavailable before RunInstances', async () => {
    h.front.addCapacityReservation({ id: 'cr-00000000000000001', region: 'us-east-1', zone: 'us-east-1a', instanceType: 'p4d.24xlarge', available: 1 });
    h.front.addCapacityReservation({ id: 'cr-00000000000000002', region: 'us-east-1', zone: 'us-east-1a', instanceType: 'g5.xlarge', available: 0 });
    const aws = compute();
    await expect(aws.createInstance(createRequest({ reservation: 'cr-0000000000000000f' }))).rejects.toMatchObject({ kind: 'unsupported', providerCode: 'InvalidCapacityReservationId.NotFound' });
    await expect(aws.createInstance(createRequest({ reservation: 'cr-00000000000000001' }))).rejects.toThrow(/is for p4d\.24xlarge, not g5\.xlarge/);
    await expect(aws.createInstance(createRequest({ reservation: 'cr-00000000000000002' }))).rejects.toMatchObject({ kind: 'no_capacity' });
    expect(h.front.callsTo('RunInstances')).toHaveLength(0);
  });

  it('honours an abort signal: nothing is launched once it fired', async () => {
    const controller = new AbortController();
    controller.abort(new Error('provisioning cancelled'));
    await expect(compute().createInstance(createRequest(), controller.signal)).rejects.toThrow('provisioning cancelled');
    expect(h.front.callsTo('RunInstances')).toHaveLength(0);
  });

  it('reads the endpoint from the env it is given, AWS_ENDPOINT_URL as well as AWS_ENDPOINT_URL_EC2', async () => {
    expect(process.env.AWS_ENDPOINT_URL_EC2 ?? process.env.AWS_ENDPOINT_URL).toBeUndefined();
    const env = h.env();
    const { AWS_ENDPOINT_URL_EC2: url, ...rest } = env;
    const created = await compute(h.config(), { ...rest, AWS_ENDPOINT_URL: url ?? '' }).createInstance(createRequest());
    expect(h.front.callsTo('RunInstances')).toHaveLength(1);
    expect(created.instanceId).toMatch(/^i-/);
  });
});
