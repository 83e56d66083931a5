/**
 * `GET /api/offers` query parameters, both ways: the CLI's flags to a query string, and the query string to
 * OfferFilters. Names follow dstack's profile fields (`backend`, `region`, `instance_type`, `spot_policy`,
 * `max_price`), repeated for lists. Only what the user gave is sent, so the daemon applies its defaults.
 *
 * No zod here: the resource flags (`gpu`, `cpu`, `memory`, `disk`) are parsed by query.ts with the YAML grammar,
 * and only when one is given, so a catalog-only `dstack offer` answered in the CLI does not load the schemas.
 */
import { UserError } from '../errors.js';
import { ANY_REQUIREMENTS, type Requirements } from '../runs/requirements.js';
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

/** What the resource parameters narrow: requirements, and the CPU architecture of `cpu=arm:8`. */
export type ResourceFilters = Pick<OfferFilters, 'requirements' | 'cpuArch'>;

export const RESOURCE_KEYS = ['gpu', 'cpu', 'memory', 'disk'] as const;

/** No resource parameter given: no constraint, not the YAML defaults (`cpu: 2..`), so `dstack offer` lists everything. */
export const NO_RESOURCE_FILTERS: ResourceFilters = { requirements: ANY_REQUIREMENTS };

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

/** The resource parameters given (non-empty), by name. */
export function resourceParams(params: URLSearchParams): Partial<Record<(typeof RESOURCE_KEYS)[number], string>> {
  return Object.fromEntries(RESOURCE_KEYS.flatMap((k) => {
    const v = params.get(k);
    return v === null || v === '' ? [] : [[k, v]];
  }));
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

/** The query with its resource parameters already parsed (query.ts `parseOfferQuery`, or NO_RESOURCE_FILTERS). */
export function offerQueryWith(params: URLSearchParams, resources: ResourceFilters): OfferQuery {
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
    requirements: resources.requirements,
    ...(resources.cpuArch ? { cpuArch: resources.cpuArch } : {}),
    ...(backends.length > 0 ? { backends } : {}),
    ...(regions.length > 0 ? { regions } : {}),
    ...(instanceTypes.length > 0 ? { instanceTypes } : {}),
    ...(policy ? { spotPolicy: policy as SpotPolicy } : {}),
    ...(maxPrice !== undefined ? { maxPrice } : {}),
  };
  return { filters, named: backends, ...(maxOffers !== undefined ? { maxOffers } : {}) };
}
