/**
 * The daemon's catalogs: offers of the cloud backends configured in config.yml (and of a cloud named with
 * `--backend` that is not), and `dstack catalog refresh`. Which catalogs a query reads and how offers are filtered
 * and merged is core's (src/core/catalog); this class loads files and carries it out.
 */
import type { CatalogRefreshRequest, CatalogRefreshResult } from '../../core/api.js';
import { readCatalogOffers } from '../../core/catalog/answer.js';
import type { CatalogOffers } from '../../core/catalog/offers.js';
import type { OfferQuery } from '../../core/catalog/query.js';
import type { Catalog } from '../../core/catalog/types.js';
import { UserError } from '../../core/errors.js';
import type { BackendConfig } from '../../core/home/backends-config.js';
import { loadCatalog } from './load.js';
import { refreshCatalog } from './refresh.js';
import { SHIPPED_PROVIDERS } from './shipped.js';

export interface CatalogServiceOptions {
  serverDir: string;
  /** `projects[<default>].backends` of config.yml. */
  backends: readonly BackendConfig[];
  /** The project they belong to, as error messages name the credentials' place in config.yml. */
  project: string;
  env: Readonly<Record<string, string | undefined>>;
  clock?: () => number;
  fetch?: typeof fetch;
}

export class CatalogService {
  constructor(private readonly o: CatalogServiceOptions) {}

  /** The catalog a cloud backend's Compute offers from (shipped, or refreshed under serverDir/catalog). */
  load(provider: string): Promise<Catalog> {
    return loadCatalog(provider, { serverDir: this.o.serverDir });
  }

  offers(query: OfferQuery): Promise<CatalogOffers> {
    return readCatalogOffers(this.o.backends, query, (provider) => this.load(provider));
  }

  async refresh(req: CatalogRefreshRequest): Promise<CatalogRefreshResult> {
    const configured = [...new Set(this.o.backends.map((b) => b.type))];
    const providers = req.backends?.length ? [...new Set(req.backends.map((b) => b.toLowerCase()))] : req.url ? [...SHIPPED_PROVIDERS] : configured;
    if (providers.length === 0) {
      throw new UserError('NO_BACKENDS', 'No cloud backend is configured in config.yml, so there is no catalog to refresh from a cloud API.', {
        hint: 'Name one with --backend aws, or pass --url with a gpuhunt-compatible base URL.',
      });
    }
    const index = this.o.backends.findIndex((b) => b.type === 'aws');
    const aws = index >= 0 ? this.o.backends[index] : undefined;
    const written = await refreshCatalog({
      serverDir: this.o.serverDir,
      providers,
      ...(req.url !== undefined ? { baseUrl: req.url } : {}),
      ...(aws?.type === 'aws' ? { aws: { config: aws, configPath: `config.yml projects[${this.o.project}].backends[${index}].creds` } } : {}),
      env: this.o.env,
      ...(this.o.clock ? { now: this.o.clock } : {}),
      ...(this.o.fetch ? { fetch: this.o.fetch } : {}),
    });
    return { written };
  }
}
