/**
 * `GET /api/offers` query parameters to an OfferQuery, resource parameters included (parsed with the YAML
 * `resources` grammar, so `--gpu A100:80GB:2` means what it means in a service file). The rest is offer-query.ts.
 */
import { UserError } from '../errors.js';
import { Resources } from '../model/resources.js';
import { ANY_REQUIREMENTS, requirementsOf } from '../runs/requirements.js';
import { offerQueryWith, resourceParams, type OfferQuery, type ResourceFilters } from './offer-query.js';

export {
  NO_RESOURCE_FILTERS, offerQueryString, offerQueryWith, RESOURCE_KEYS, resourceParams, SPOT_POLICIES,
  type OfferQuery, type OfferQueryInput, type ResourceFilters, type SpotPolicy,
} from './offer-query.js';

export function resourceFilters(params: URLSearchParams): ResourceFilters {
  const given = resourceParams(params);
  const parsed = Resources.safeParse(given);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new UserError('INVALID_REQUEST', `invalid resources: ${first ? `${first.path.join('.')}: ${first.message}` : 'invalid'}`);
  }
  const spec = parsed.data;
  const all = requirementsOf(spec);
  // An absent parameter means no constraint here, not the YAML default (`cpu: 2..`): `dstack offer` lists everything.
  const requirements = {
    cpu: 'cpu' in given ? all.cpu : ANY_REQUIREMENTS.cpu,
    memoryBytes: 'memory' in given ? all.memoryBytes : ANY_REQUIREMENTS.memoryBytes,
    diskBytes: 'disk' in given ? all.diskBytes : ANY_REQUIREMENTS.diskBytes,
    gpu: 'gpu' in given ? all.gpu : ANY_REQUIREMENTS.gpu,
  };
  return { requirements, ...('cpu' in given && spec.cpu.arch ? { cpuArch: spec.cpu.arch } : {}) };
}

export function parseOfferQuery(params: URLSearchParams): OfferQuery {
  return offerQueryWith(params, resourceFilters(params));
}
