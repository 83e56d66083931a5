/**
 * RunInstances for one offer. As dstack's AWS compute does, it tries the availability zones of the region that
 * offer the instance type, one by one: no capacity (or no such type, or a spot price above max) in one zone is
 * no reason to give up on the region. Quota errors hold for the whole region and end the offer at once.
 */
import { randomUUID } from 'node:crypto';
import type { Instance, RunInstancesCommandInput, Tag, _InstanceType } from '@aws-sdk/client-ec2';
import type { CreateInstanceRequest } from '../compute.js';
import { OfferUnavailableError } from '../compute.js';
import type { Ec2 } from './client.js';
import type { Image } from './images.js';
import type { RegionResources } from './resources.js';

export function instanceTags(req: Pick<CreateInstanceRequest, 'project' | 'fleet' | 'instanceName'>): Tag[] {
  return [
    { Key: 'Name', Value: req.instanceName },
    { Key: 'dstack_project', Value: req.project },
    { Key: 'dstack_fleet', Value: req.fleet },
    { Key: 'dstack_instance', Value: req.instanceName },
  ];
}

export interface LaunchSpec {
  req: CreateInstanceRequest;
  image: Image;
  resources: RegionResources;
  userData: string;
  /** A checked capacity reservation: its zone is the only one tried. */
  reservation?: { id: string; zone: string };
}

/** The RunInstances request for one zone (pure, so its shape is tested without EC2). */
export function runInstancesInput(spec: LaunchSpec, zone: string | undefined): RunInstancesCommandInput {
  const { req, image, resources } = spec;
  const tags = instanceTags(req);
  const subnetId = zone ? resources.subnets.get(zone) : undefined;
  return {
    ImageId: image.imageId,
    // EC2's enum lags behind new types; the catalog's name is what EC2 takes.
    InstanceType: req.offer.instanceType as _InstanceType,
    MinCount: 1,
    MaxCount: 1,
    KeyName: resources.keyName,
    SecurityGroupIds: [resources.groupId],
    ...(subnetId ? { SubnetId: subnetId } : {}),
    ...(zone ? { Placement: { AvailabilityZone: zone } } : {}),
    BlockDeviceMappings: [
      { DeviceName: image.rootDeviceName, Ebs: { VolumeSize: Math.max(req.diskGiB, image.rootSizeGiB), VolumeType: 'gp3', DeleteOnTermination: true } },
    ],
    ...(req.offer.spot
      ? {
          InstanceMarketOptions: {
            MarketType: 'spot',
            SpotOptions: {
              SpotInstanceType: 'one-time',
              InstanceInterruptionBehavior: 'terminate',
              ...(req.maxPrice !== undefined ? { MaxPrice: String(req.maxPrice) } : {}),
            },
          },
        }
      : {}),
    ...(spec.reservation ? { CapacityReservationSpecification: { CapacityReservationTarget: { CapacityReservationId: spec.reservation.id } } } : {}),
    UserData: Buffer.from(spec.userData).toString('base64'),
    TagSpecifications: [
      { ResourceType: 'instance', Tags: tags },
      { ResourceType: 'volume', Tags: tags },
    ],
    // RunInstances is retried by the SDK on a 5xx: one token per zone attempt makes a retry return the same instance.
    ClientToken: randomUUID(),
  };
}

/** The zones to try, in a stable order: the reservation's, else those offering the type that have a default subnet. */
export async function candidateZones(ec2: Ec2, region: string, spec: LaunchSpec, signal?: AbortSignal): Promise<string[]> {
  if (spec.reservation) return [spec.reservation.zone];
  const type = spec.req.offer.instanceType;
  const offered = await ec2.call(region, 'DescribeInstanceTypeOfferings', (c, sdk) =>
    c.send(
      new sdk.DescribeInstanceTypeOfferingsCommand({ LocationType: 'availability-zone', Filters: [{ Name: 'instance-type', Values: [type] }] }),
      { abortSignal: signal },
    ),
  );
  const zones = [...new Set((offered.InstanceTypeOfferings ?? []).map((o) => o.Location ?? ''))].filter((z) => spec.resources.subnets.has(z)).sort();
  if (zones.length === 0) throw new OfferUnavailableError('unsupported', 'Unsupported', `${type} is not offered in any availability zone of ${region}`);
  return zones;
}

/** Launches in the first zone that has it; the error of the last zone when none does. */
export async function launchInZones(ec2: Ec2, region: string, spec: LaunchSpec, zones: readonly string[]): Promise<Instance> {
  const reasons: string[] = [];
  let last: OfferUnavailableError | undefined;
  for (const zone of zones) {
    try {
      const out = await ec2.call(region, 'RunInstances', (c, sdk) => c.send(new sdk.RunInstancesCommand(runInstancesInput(spec, zone))));
      const instance = out.Instances?.[0];
      if (!instance?.InstanceId) throw new OfferUnavailableError('no_capacity', 'NoInstance', `RunInstances in ${zone} returned no instance`);
      return instance;
    } catch (e) {
      if (!(e instanceof OfferUnavailableError) || e.kind === 'no_quota') throw e;
      last = e;
      reasons.push(`${zone}: ${e.providerCode}`);
    }
  }
  if (!last) throw new OfferUnavailableError('unsupported', 'Unsupported', `no availability zone to try in ${region}`);
  throw zones.length > 1 ? new OfferUnavailableError(last.kind, last.providerCode, `${spec.req.offer.instanceType} in ${region}: ${reasons.join(', ')}`) : last;
}
