/**
 * `GET /api/offers` query parameters, both ways: the CLI's flags to a query string, and the query string to
 * OfferFilters in the daemon. Names follow dstack's profile fields (`backend`, `region`, `instance_type`,
 * `spot_policy`, `max_price`), repeated for lists. Only what the user gave is sent, so the daemon applies its defaults.
 */
import { UserError } from '../errors.js';
import { Resources } from '../model/resources.js';
import { ANY_REQUIREMENTS, requirementsOf } from '../runs/requirements.js';
import type { OfferFilters } from './types.js';

export const SPOT_POLICIES = ['spot', 'on-demand', 'auto'] as const;
export type SpotPolicy = (typeof SPOT_POLICIES)[number];

export interface OfferQueryInput {
  gpu?: string;
  cpu?: string;
  memory?: string;
  disk?: string;
  backends?: readonly string[];
  regions?: readonly string[];
  instanceTypes?: readonly string[];
  spotPolicy?: SpotPolicy;
  maxPrice?: number;
  maxOffers?: number;
}

export interface OfferQuery {
  filters: OfferFilters;
  /** Backends the user named (`--backend`): a cloud named here shows its catalog even when not configured. */
  named: string[];
  maxOffers?: number;
}

const RESOURCE_KEYS = ['gpu', 'cpu', 'memory', 'disk'] as const;

export function offerQueryString(q: OfferQueryInput): string {
  const params = new URLSearchParams();
  for (const key of RESOURCE_KEYS) if (q[key] !== undefined) params.set(key, q[key]);
  for (const b of q.backends ?? []) params.append('backend', b);
  for (const r of q.regions ?? []) params.append('region', r);
  for (const t of q.instanceTypes ?? []) params.append('instance_type', t);
  if (q.spotPolicy !== undefined) params.set('spot_policy', q.spotPolicy);
  if (q.maxPrice !== undefined) params.set('max_price', String(q.maxPrice));
  if (q.maxOffers !== undefined) params.set('max_offers', String(q.maxOffers));
  return params.toString();
}

const invalid = (message: string): never => {
  throw new UserError('INVALID_REQUEST', message);
};

/** Comma lists are accepted too (`region=us-east-1,us-west-2`), as dstack's YAML lists would be written on one line. */
const list = (params: URLSearchParams, key: string): string[] =>
  params.getAll(key).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');

function positive(params: URLSearchParams, key: string, integer: boolean): number | undefined {
  const raw = params.get(key);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) invalid(`${key}: expected a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(raw)}`);
  return n;
}

export function parseOfferQuery(params: URLSearchParams): OfferQuery {
  const given = Object.fromEntries(RESOURCE_KEYS.flatMap((k) => {
    const v = params.get(k);
    return v === null || v === '' ? [] : [[k, v]];
  }));
  const parsed = Resources.safeParse(given);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    invalid(`invalid resources: ${first ? `${first.path.join('.')}: ${first.message}` : 'invalid'}`);
  }
  const spec = parsed.data!;
  const all = requirementsOf(spec);
  // An absent flag means no constraint here, not the YAML default (`cpu: 2..`): `dstack offer` lists everything.
  const requirements = {
    cpu: 'cpu' in given ? all.cpu : ANY_REQUIREMENTS.cpu,
    memoryBytes: 'memory' in given ? all.memoryBytes : ANY_REQUIREMENTS.memoryBytes,
    diskBytes: 'disk' in given ? all.diskBytes : ANY_REQUIREMENTS.diskBytes,
    gpu: 'gpu' in given ? all.gpu : ANY_REQUIREMENTS.gpu,
  };
  const policy = params.get('spot_policy');
  if (policy !== null && policy !== '' && !(SPOT_POLICIES as readonly string[]).includes(policy)) {
    invalid(`spot_policy: expected one of ${SPOT_POLICIES.join(', ')}, got ${JSON.stringify(policy)}`);
  }
  const backends = list(params, 'backend').map((b) => b.toLowerCase());
  const regions = list(params, 'region');
  const instanceTypes = list(params, 'instance_type');
  const maxPrice = positive(params, 'max_price', false);
  const maxOffers = positive(params, 'max_offers', true);
  const filters: OfferFilters = {
    requirements,
    ...('cpu' in given && spec.cpu.arch ? { cpuArch: spec.cpu.arch } : {}),
    ...(backends.length > 0 ? { backends } : {}),
    ...(regions.length > 0 ? { regions } : {}),
    ...(instanceTypes.length > 0 ? { instanceTypes } : {}),
    ...(policy ? { spotPolicy: policy as SpotPolicy } : {}),
    ...(maxPrice !== undefined ? { maxPrice } : {}),
  };
  return { filters, named: backends, ...(maxOffers !== undefined ? { maxOffers } : {}) };
}
