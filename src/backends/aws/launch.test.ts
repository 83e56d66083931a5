import { describe, expect, it } from 'vitest';
import type { Offer } from '../../core/api.js';
import { instanceTags, runInstancesInput, type LaunchSpec } from './launch.js';

const offer: Offer = {
  backend: 'aws',
  region: 'us-east-1',
  instanceType: 'g5.xlarge',
  resources: { cpus: 4, memoryBytes: 16 * 1024 ** 3, diskBytes: 0, gpus: [{ name: 'A10G', memoryMiB: 24576, vendor: 'nvidia' }] },
  spot: false,
  price: 1.006,
  availability: 'available',
};

const spec = (over: Partial<LaunchSpec['req']> = {}, extra: Partial<LaunchSpec> = {}): LaunchSpec => ({
  req: { project: 'main', fleet: 'f', instanceName: 'f-0', offer, diskGiB: 50, sshPublicKey: 'ssh-ed25519 AAAA dstack', ...over },
  image: { imageId: 'ami-1', name: 'img', rootDeviceName: '/dev/sda1', rootSizeGiB: 75 },
  resources: { keyName: 'dstack-main', groupId: 'sg-1', vpcId: 'vpc-1', subnets: new Map([['us-east-1b', 'subnet-b']]) },
  userData: '#cloud-config\n',
  ...extra,
});

describe('runInstancesInput', () => {
  it('never makes the root volume smaller than the image, and tags instance and volume alike', () => {
    const input = runInstancesInput(spec(), 'us-east-1b');
    expect(input.BlockDeviceMappings).toEqual([{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 75, VolumeType: 'gp3', DeleteOnTermination: true } }]);
    expect(input).toMatchObject({ SubnetId: 'subnet-b', Placement: { AvailabilityZone: 'us-east-1b' }, KeyName: 'dstack-main', SecurityGroupIds: ['sg-1'] });
    expect(input.TagSpecifications).toEqual([
      { ResourceType: 'instance', Tags: instanceTags(spec().req) },
      { ResourceType: 'volume', Tags: instanceTags(spec().req) },
    ]);
    expect(input.InstanceMarketOptions).toBeUndefined();
  });

  it('a spot offer is a one-time request that terminates, capped at max_price; a reservation is targeted', () => {
    const input = runInstancesInput(spec({ offer: { ...offer, spot: true }, maxPrice: 0.75 }, { reservation: { id: 'cr-1', zone: 'us-east-1b' } }), 'us-east-1b');
    expect(input.InstanceMarketOptions).toEqual({ MarketType: 'spot', SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate', MaxPrice: '0.75' } });
    expect(input.CapacityReservationSpecification).toEqual({ CapacityReservationTarget: { CapacityReservationId: 'cr-1' } });
  });

  it('each attempt gets its own client token (a retry of one attempt reuses it inside the SDK)', () => {
    expect(runInstancesInput(spec(), 'us-east-1b').ClientToken).not.toBe(runInstancesInput(spec(), 'us-east-1b').ClientToken);
  });
});
