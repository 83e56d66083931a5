/**
 * Creating the VM of one cloud instance: the offers that fit the fleet, in the catalog's order (cheapest first;
 * `spot_policy: auto` lists spot before on-demand), tried one after the other. An offer the cloud cannot give now
 * (OfferUnavailableError: no capacity, no quota, price) is reported with its reason and the next one is tried;
 * any other error stops. When none is left, one UserError lists every reason, and the fleet's `retry` decides.
 */
import type { Offer } from '../../core/api.js';
import { UserError } from '../../core/errors.js';
import { OfferUnavailableError, type CloudInstance, type CloudTarget, type Compute } from '../compute.js';

/** dstack stops after this many offers too: past them a capacity shortage is regional, and each try costs API calls. */
export const MAX_OFFERS_TRIED = 25;

const REASONS: Record<OfferUnavailableError['kind'], string> = {
  no_capacity: 'no capacity',
  no_quota: 'no quota',
  price: 'price above max_price',
  unsupported: 'not supported',
};

/** `aws us-east-1 g5.xlarge (spot)` */
export function offerName(offer: Offer): string {
  return `${offer.backend} ${offer.region} ${offer.instanceType}${offer.spot ? ' (spot)' : ''}`;
}

/** `aws us-east-1 g5.xlarge: no capacity (InsufficientInstanceCapacity)` */
export function unavailableReason(offer: Offer, e: OfferUnavailableError): string {
  return `${offerName(offer)}: ${REASONS[e.kind]} (${e.providerCode})`;
}

export interface CreateOptions {
  compute: Compute;
  target: CloudTarget;
  sshPublicKey: string;
  /** Progress of step `offer`: one line per offer that could not be had. */
  onUnavailable: (reason: string) => void;
  maxOffersTried?: number;
  signal?: AbortSignal;
}

export async function createOnFirstOffer(o: CreateOptions): Promise<CloudInstance> {
  const { compute, target } = o;
  const offers = (await compute.offers(target.filters)).filter((offer) => offer.availability !== 'not available');
  if (offers.length === 0) {
    throw new UserError('NO_OFFERS', `no ${compute.kind} offer matches the fleet ${target.fleet} (resources, regions, instance_types, spot_policy, max_price)`, {
      hint: '`dstack offer --backend ' + compute.kind + '` lists what the catalog has; relax the fleet\'s filters.',
    });
  }
  const limit = o.maxOffersTried ?? MAX_OFFERS_TRIED;
  const reasons: string[] = [];
  for (const offer of offers.slice(0, limit)) {
    o.signal?.throwIfAborted();
    try {
      return await compute.createInstance(
        {
          project: target.project,
          fleet: target.fleet,
          instanceName: target.instance,
          offer,
          diskGiB: target.diskGiB,
          sshPublicKey: o.sshPublicKey,
          ...(target.reservation !== undefined ? { reservation: target.reservation } : {}),
          ...(target.filters.maxPrice !== undefined ? { maxPrice: target.filters.maxPrice } : {}),
        },
        o.signal,
      );
    } catch (e) {
      if (!(e instanceof OfferUnavailableError)) throw e;
      const reason = unavailableReason(offer, e);
      reasons.push(reason);
      o.onUnavailable(reason);
    }
  }
  const tried = offers.length > limit ? `the first ${limit} of ${offers.length} offers` : `all ${offers.length} offer${offers.length === 1 ? '' : 's'}`;
  throw new UserError('NO_CAPACITY', `${target.instance}: none of ${tried} could be created: ${reasons.join('; ')}`, {
    hint: 'Try other regions or instance types, `spot_policy: auto`, or a `retry` policy on the fleet so dstack tries again later.',
  });
}
