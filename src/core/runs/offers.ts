/**
 * Which offers a run may use, and whether apply goes ahead with them. Where the run goes is the composite
 * backend's policy (`usesFleets`): SSH fleet hosts (only those of the named `fleets:`), or the local machine.
 */
import type { Offer } from '../api.js';
import { profileAllows } from '../catalog/offers.js';
import type { OfferFilters } from '../catalog/types.js';
import { UserError } from '../errors.js';
import type { ServiceConfig } from '../model/service.js';

/** A cloud fleet that creates instances for runs: an offer of its clouds is usable when its filters allow it. */
export interface CloudFleetOffers {
  name: string;
  filters: OfferFilters;
}

/**
 * `onFleets`: the run goes to fleets (true), to this machine (false), or the backend has no fleets (undefined). On
 * fleets, SSH hosts of the named `fleets:` count, and cloud catalog offers that a cloud fleet the run may use would
 * create an instance from.
 */
export function runOffers(
  offers: readonly Offer[],
  config: Pick<ServiceConfig, 'fleets'> & { spot_policy?: OfferFilters['spotPolicy'] },
  onFleets: boolean | undefined,
  cloudFleets: readonly CloudFleetOffers[] = [],
): Offer[] {
  if (onFleets === undefined) return [...offers];
  if (!onFleets) return offers.filter((o) => o.backend === 'local');
  const named = config.fleets?.length ? new Set(config.fleets) : undefined;
  const clouds = cloudFleets.filter((f) => !named || named.has(f.name));
  // A cloud offer must suit one of the run's fleets and the run's own `spot_policy` (`auto` takes both kinds).
  const runAllows = (o: Offer) => config.spot_policy === undefined || config.spot_policy === 'auto' || o.spot === (config.spot_policy === 'spot');
  return offers.filter((o) => {
    if (o.backend === 'ssh') return !named || (o.fleet !== undefined && named.has(o.fleet));
    return o.backend !== 'local' && o.fleet === undefined && runAllows(o) && clouds.some((f) => profileAllows(o, f.filters));
  });
}

/** A busy fleet host may still have free blocks; placement decides, and the run waits when nothing fits. */
const usable = (o: Offer): boolean => o.availability === 'available' || o.availability === 'idle' || (o.backend !== 'local' && o.availability === 'busy');

/** Apply refuses a run no offer could ever take, naming where it looked and what to change. */
export function checkOffers(offers: readonly Offer[], config: Pick<ServiceConfig, 'fleets'>, onFleets: boolean | undefined): void {
  if (offers.some(usable)) return;
  const where = config.fleets?.length ? `the fleet(s) ${config.fleets.join(', ')}` : 'your fleets';
  throw new UserError('NO_OFFERS', 'No matching instance offers available.', {
    hint: onFleets
      ? `No host of ${where} meets the \`resources\` of this configuration; \`dstack offer\` lists the hosts, \`backends: [local]\` runs on this machine.`
      : 'The local machine does not meet the `resources` of this configuration; lower them or add capacity.',
  });
}
