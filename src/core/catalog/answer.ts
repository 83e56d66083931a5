/**
 * The catalog half of an offers query, shared by the daemon's CatalogService and `dstack offer` answering in the
 * CLI (direct.ts), so both read the same catalogs with the same filters, sort and notes.
 */
import type { CatalogInfo } from '../api.js';
import { catalogOffers, restrictRegions, type CatalogOffers } from './offers.js';
import type { OfferQuery } from './offer-query.js';
import { SHIPPED_PROVIDERS } from './shipped.js';
import { catalogSources, unconfiguredNote, type ConfiguredBackend } from './sources.js';
import type { Catalog } from './types.js';

export type LoadCatalog = (provider: string) => Promise<Catalog>;

export const catalogInfo = (c: Catalog): CatalogInfo => ({ provider: c.provider, date: c.date, source: c.source });

/** Offers of the catalogs `query` reads (configured clouds, limited to their regions, and clouds it names). */
export async function readCatalogOffers(backends: readonly ConfiguredBackend[], query: OfferQuery, load: LoadCatalog): Promise<CatalogOffers> {
  const sources = catalogSources(backends, query.named, SHIPPED_PROVIDERS);
  const loaded = await Promise.all(sources.map(async (s) => ({ source: s, catalog: await load(s.provider) })));
  const catalogs = loaded.map(({ source, catalog }) => restrictRegions(catalog, source.regions));
  return {
    offers: catalogOffers(catalogs, query.filters),
    catalogs: loaded.map(({ catalog }) => catalogInfo(catalog)),
    notes: loaded.filter(({ source }) => !source.configured).map(({ catalog }) => unconfiguredNote(catalogInfo(catalog))),
  };
}

/**
 * Whether catalogs alone answer `query`: it names backends and each is a cloud dstack has a catalog for. The local
 * machine, SSH fleet hosts and other named backends are the daemon's to list (the local backend always offers the
 * local machine, so a query that names no backend needs the daemon too). A named cloud's offers come only from its
 * catalog even where the daemon runs instances of it (offersResponse), so the answer is the daemon's.
 */
export function catalogOnly(query: OfferQuery): boolean {
  return query.named.length > 0 && query.named.every((b) => (SHIPPED_PROVIDERS as readonly string[]).includes(b));
}
