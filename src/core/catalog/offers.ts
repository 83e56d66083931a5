/**
 * Offers from catalogs (dstack's `get_catalog_offers` over gpuhunt's query filter): every row that meets the
 * resources and the profile filters becomes an Offer, cheapest first. Pure; the same filters also narrow the offers
 * of the machines dstack already has (local, SSH fleets) so `dstack offer --backend aws` means the same everywhere.
 *
 * Order: by price; at an equal price a spot row comes before an on-demand one (only `spot_policy: auto` has both,
 * and there dstack tries spot first); otherwise the catalogs' own order (stable).
 */
import type { CatalogInfo, Offer, OffersResponse } from '../api.js';
import type { GpuVendor } from '../model/agent-api.js';
import type { Range } from '../runs/requirements.js';
import { gpuMatches, type GpuRequest } from '../scheduling/gpu-match.js';
import type { OfferQuery } from './offer-query.js';
import type { RowFilter } from './parse.js';
import type { Catalog, CatalogItem, OfferFilters } from './types.js';

const GiB = 1024 ** 3;
/** dstack's default `disk: 100GB..`: a cloud VM without a disk of its own gets a root volume of this size. */
export const DEFAULT_DISK_BYTES = 100 * GiB;

const within = (value: number, range: Range): boolean =>
  (range.min === undefined || value >= range.min) && (range.max === undefined || value <= range.max);

/** GCP rows are per zone (`us-central1-a`): the region is the zone without its letter (collapseZones merges them). */
export function regionOf(provider: string, location: string): string {
  return provider === 'gcp' ? location.replace(/-[a-z]$/, '') : location;
}

/** SSH fleet offers are `ssh` here and `remote` in dstack; both names select them. */
const BACKEND_ALIASES: Record<string, string> = { remote: 'ssh' };
const lower = (values: readonly string[] | undefined): Set<string> | undefined =>
  values && values.length > 0 ? new Set(values.map((v) => v.toLowerCase())) : undefined;

interface Sets {
  backends?: Set<string>;
  regions?: Set<string>;
  types?: Set<string>;
}

function setsOf(filters: OfferFilters): Sets {
  const backends = lower(filters.backends?.map((b) => BACKEND_ALIASES[b.toLowerCase()] ?? b));
  const regions = lower(filters.regions);
  const types = lower(filters.instanceTypes);
  return { ...(backends ? { backends } : {}), ...(regions ? { regions } : {}), ...(types ? { types } : {}) };
}

function spotAllowed(spot: boolean, policy: OfferFilters['spotPolicy']): boolean {
  const p = policy ?? 'on-demand';
  return p === 'auto' || spot === (p === 'spot');
}

/** The profile filters (backends, regions, instance types, spot policy, max price) on an offer of any backend. */
export function profileAllows(offer: Offer, filters: OfferFilters, sets: Sets = setsOf(filters)): boolean {
  if (sets.backends && !sets.backends.has(offer.backend.toLowerCase())) return false;
  if (sets.regions && !sets.regions.has(offer.region.toLowerCase()) && !(offer.zone && sets.regions.has(offer.zone.toLowerCase()))) return false;
  if (sets.types && !sets.types.has(offer.instanceType.toLowerCase())) return false;
  if (!spotAllowed(offer.spot, filters.spotPolicy)) return false;
  return filters.maxPrice === undefined || offer.price <= filters.maxPrice;
}

/** Whether a machine without GPUs meets the GPU request: no GPU filter, and a count that allows none. */
const noGpuFits = (gpu: GpuRequest): boolean =>
  (gpu.names?.length ?? 0) === 0 && gpu.vendor === undefined && gpu.memoryMiB === undefined && within(0, gpu.count);

function gpuFits(item: CatalogItem, gpu: GpuRequest): boolean {
  if (item.gpuCount === 0) return noGpuFits(gpu);
  if (!within(item.gpuCount, gpu.count)) return false;
  const one = { name: item.gpuName ?? '', memoryMiB: (item.gpuMemoryGiB ?? 0) * 1024, vendor: (item.gpuVendor ?? 'nvidia') as GpuVendor, id: '', index: 0 };
  return gpuMatches(one, gpu);
}

/** The disk an offer of this row has: its own, or a root volume of the requested size (the minimum, default 100GB). */
function diskBytesOf(item: CatalogItem, disk: Range): number {
  if (item.diskSizeGiB !== undefined) return item.diskSizeGiB * GiB;
  return disk.min ?? Math.min(DEFAULT_DISK_BYTES, disk.max ?? DEFAULT_DISK_BYTES);
}

/** Whether a catalog row meets the resources (cpu, memory, disk, GPUs, CPU architecture). */
export function resourcesFit(item: CatalogItem, filters: OfferFilters): boolean {
  const r = filters.requirements;
  if (!within(item.cpu, r.cpu) || !within(item.memoryGiB * GiB, r.memoryBytes)) return false;
  if (filters.cpuArch !== undefined && item.cpuArch !== filters.cpuArch) return false;
  return within(diskBytesOf(item, r.diskBytes), r.diskBytes) && gpuFits(item, r.gpu);
}

export function offerOf(item: CatalogItem, filters: OfferFilters): Offer {
  const region = regionOf(item.provider, item.location);
  const gpu = item.gpuCount > 0 ? { name: item.gpuName ?? '', memoryMiB: (item.gpuMemoryGiB ?? 0) * 1024, vendor: item.gpuVendor ?? 'nvidia' } : undefined;
  return {
    backend: item.provider,
    region,
    ...(region !== item.location ? { zone: item.location } : {}),
    instanceType: item.instanceName,
    resources: {
      cpus: item.cpu,
      memoryBytes: item.memoryGiB * GiB,
      diskBytes: diskBytesOf(item, filters.requirements.diskBytes),
      gpus: gpu ? Array.from({ length: item.gpuCount }, () => gpu) : [],
      arch: item.cpuArch,
    },
    spot: item.spot,
    price: item.price,
    availability: 'available',
  };
}

/** Cheapest first; spot before on-demand at one price; otherwise as given (Array.prototype.sort is stable). */
export function byPrice(a: Offer, b: Offer): number {
  return a.price - b.price || Number(b.spot) - Number(a.spot);
}

/** Every row of `catalogs` that passes `filters`, as offers sorted by price. */
export function catalogOffers(catalogs: readonly Catalog[], filters: OfferFilters): Offer[] {
  const sets = setsOf(filters);
  const out: Offer[] = [];
  for (const catalog of catalogs) {
    if (sets.backends && !sets.backends.has(catalog.provider.toLowerCase())) continue;
    for (const item of catalog.items) {
      if (!spotAllowed(item.spot, filters.spotPolicy) || (filters.maxPrice !== undefined && item.price > filters.maxPrice)) continue;
      if (sets.types && !sets.types.has(item.instanceName.toLowerCase())) continue;
      if (!resourcesFit(item, filters)) continue;
      const offer = offerOf(item, filters);
      if (profileAllows(offer, filters, sets)) out.push(offer);
    }
  }
  return collapseZones(out.sort(byPrice));
}

/**
 * GCP rows are per zone, offers per region (dstack's GCP `get_offers`): a region's zones with the same machine and
 * purchase option become one offer at the cheapest zone's price, listing its zones cheapest first, so a plan shows
 * each region once and creating can move to the next zone when one is exhausted. Expects offers sorted by price.
 */
export function collapseZones(sorted: readonly Offer[]): Offer[] {
  const out: Offer[] = [];
  const byKey = new Map<string, string[]>();
  for (const offer of sorted) {
    if (offer.zone === undefined) {
      out.push(offer);
      continue;
    }
    const key = `${offer.backend}\0${offer.region}\0${offer.instanceType}\0${String(offer.spot)}`;
    const zones = byKey.get(key);
    if (zones) {
      if (!zones.includes(offer.zone)) zones.push(offer.zone);
      continue;
    }
    const first = [offer.zone];
    byKey.set(key, first);
    out.push({ ...offer, zones: first });
  }
  return out;
}

/**
 * Rows of a catalog that `filters` can never list, told from their raw fields before they are parsed (spot, price,
 * instance type, GPU-less rows where GPUs are asked for), so a one-off query parses only what it may list; the
 * parsed rows then go through catalogOffers as ever. A field this cannot read keeps its row, which then fails to parse.
 */
export function rowFilter(filters: OfferFilters): RowFilter {
  const { types } = setsOf(filters);
  const gpuless = noGpuFits(filters.requirements.gpu);
  const numberIn = (raw: string): number | undefined => (raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : undefined);
  return (field) => {
    const spot = field('spot').toLowerCase();
    if ((spot === 'true' || spot === 'false') && !spotAllowed(spot === 'true', filters.spotPolicy)) return false;
    const price = numberIn(field('price'));
    if (filters.maxPrice !== undefined && price !== undefined && price > filters.maxPrice) return false;
    const type = field('instance_name').toLowerCase();
    if (types && type !== '' && !types.has(type)) return false;
    return gpuless || numberIn(field('gpu_count') || '0') !== 0;
  };
}

/** The machines dstack has (local, SSH fleets) narrowed by the same profile filters, merged with catalog offers. */
export function mergeOffers(own: readonly Offer[], fromCatalogs: readonly Offer[], filters: OfferFilters): Offer[] {
  const sets = setsOf(filters);
  return [...own.filter((o) => profileAllows(o, filters, sets)), ...fromCatalogs].sort(byPrice);
}

/** A backend's `regions` in config.yml: only rows there (a GCP zone counts by its region too). */
export function restrictRegions(catalog: Catalog, regions: readonly string[] | undefined): Catalog {
  if (!regions || regions.length === 0) return catalog;
  const allowed = new Set(regions.map((r) => r.toLowerCase()));
  const items = catalog.items.filter((i) => allowed.has(i.location.toLowerCase()) || allowed.has(regionOf(i.provider, i.location).toLowerCase()));
  return { ...catalog, items };
}

export interface CatalogOffers {
  offers: Offer[];
  catalogs: CatalogInfo[];
  notes: string[];
}

/**
 * The answer of `GET /api/offers`: the machines dstack has plus the catalogs' offers, cheapest first, cut to
 * `max_offers` with `total` and `maxPrice` over all of them (dstack's "Shown N of M offers, $X max"). A cloud whose
 * catalog was read here may also be a member of the daemon's backend, listing that same catalog: its offers are
 * taken from here only, with all the filters applied.
 */
export function offersResponse(own: readonly Offer[], clouds: CatalogOffers, query: OfferQuery): OffersResponse {
  const read = new Set(clouds.catalogs.map((c) => c.provider));
  const all = mergeOffers(own.filter((o) => !read.has(o.backend)), clouds.offers, query.filters);
  const maxPrice = all.reduce<number | undefined>((max, o) => (max === undefined || o.price > max ? o.price : max), undefined);
  return {
    offers: query.maxOffers !== undefined ? all.slice(0, query.maxOffers) : all,
    total: all.length,
    ...(maxPrice !== undefined ? { maxPrice } : {}),
    catalogs: clouds.catalogs,
    notes: clouds.notes,
  };
}
