/**
 * `reservation: cr-…`: the instance is launched into that capacity reservation, in its zone. It is checked first
 * (DescribeCapacityReservations) so a reservation in another region, for another type, or used up gives the offer
 * a clear reason instead of RunInstances' generic one.
 */
import { OfferUnavailableError } from '../compute.js';
import type { Ec2 } from './client.js';
import { awsCode } from './errors.js';

export async function checkReservation(ec2: Ec2, region: string, id: string, instanceType: string, signal?: AbortSignal): Promise<{ id: string; zone: string }> {
  let found;
  try {
    found = await ec2.call(region, 'DescribeCapacityReservations', (c, sdk) =>
      c.send(new sdk.DescribeCapacityReservationsCommand({ CapacityReservationIds: [id] }), { abortSignal: signal }),
    );
  } catch (e) {
    const code = awsCode(e);
    if (code !== 'InvalidCapacityReservationId.NotFound' && code !== 'InvalidCapacityReservationId.Malformed') throw e;
    throw new OfferUnavailableError('unsupported', code, `capacity reservation ${id} does not exist in ${region}`);
  }
  const r = found.CapacityReservations?.find((c) => c.CapacityReservationId === id);
  if (!r?.AvailabilityZone) throw new OfferUnavailableError('unsupported', 'InvalidCapacityReservationId.NotFound', `capacity reservation ${id} does not exist in ${region}`);
  if (r.InstanceType !== instanceType) {
    throw new OfferUnavailableError('unsupported', 'ReservationInstanceType', `capacity reservation ${id} is for ${r.InstanceType ?? 'another type'}, not ${instanceType}`);
  }
  if (r.State !== 'active' || (r.AvailableInstanceCount ?? 0) < 1) {
    throw new OfferUnavailableError('no_capacity', 'InsufficientReservedInstanceCapacity', `capacity reservation ${id} is ${r.State ?? 'unknown'} with ${r.AvailableInstanceCount ?? 0} instances free`);
  }
  return { id, zone: r.AvailabilityZone };
}
