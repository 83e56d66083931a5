/**
 * The offers part of the control API (`GET/POST /api/offers`, `POST /api/catalog/refresh`, and the offers in run and
 * fleet plans): machines, their prices and where the prices come from. Re-exported by core/api.ts.
 */
import { z } from 'zod';

export const Resources = z.object({
  cpus: z.number(),
  memoryBytes: z.number(),
  diskBytes: z.number(),
  gpus: z.array(z.object({ name: z.string(), memoryMiB: z.number(), vendor: z.string() })),
  arch: z.string().optional(),
});
export type Resources = z.infer<typeof Resources>;

export const Offer = z.object({
  backend: z.string(),
  region: z.string(),
  /** GCP: the zone of the region the offer is in (catalog rows are per zone); with `zones`, the first of them. */
  zone: z.string().optional(),
  /** GCP: the region's zones that have this machine at this price or above, cheapest first; creating tries each. */
  zones: z.array(z.string()).optional(),
  instanceType: z.string(),
  resources: Resources,
  spot: z.boolean(),
  price: z.number(),
  availability: z.enum(['idle', 'busy', 'available', 'not available', 'no quota']),
  /** Local backend only: whether replicas run in Docker or as plain processes. */
  runtime: z.enum(['docker', 'process']).optional(),
  fleet: z.string().optional(),
  instance: z.string().optional(),
});
export type Offer = z.infer<typeof Offer>;

/** Where catalog offers' prices come from: `dstack offer` and the plan print the date. */
export const CatalogInfo = z.object({
  provider: z.string(),
  /** ISO date of the prices (`2026-12-05`). */
  date: z.string(),
  /** `shipped`, or the file under DSTACK_HOME/server/catalog a refresh wrote. */
  source: z.string(),
});
export type CatalogInfo = z.infer<typeof CatalogInfo>;

/** Cheapest first; `total` and `maxPrice` are over every match, `offers` may be the first `max_offers` of them. */
export const OffersResponse = z.object({
  offers: z.array(Offer),
  total: z.number().int().optional(),
  maxPrice: z.number().optional(),
  catalogs: z.array(CatalogInfo).default([]),
  /** Said to the user on stderr (a backend named but not configured, a catalog that could not be read). */
  notes: z.array(z.string()).default([]),
});
export type OffersResponse = z.infer<typeof OffersResponse>;

export const CatalogRefreshRequest = z.object({
  /** A gpuhunt-compatible base URL; absent = the clouds' own APIs (EC2 for aws). */
  url: z.string().url().optional(),
  /** Providers to refresh; absent = every provider dstack ships a catalog for (with `url`) or the configured ones. */
  backends: z.array(z.string()).optional(),
});
export type CatalogRefreshRequest = z.infer<typeof CatalogRefreshRequest>;

export const CatalogRefreshResult = z.object({
  written: z.array(CatalogInfo.extend({ path: z.string(), rows: z.number().int(), version: z.string() })),
});
export type CatalogRefreshResult = z.infer<typeof CatalogRefreshResult>;
