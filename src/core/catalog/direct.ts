/**
 * `dstack offer` answered in the CLI when catalogs alone answer it (answer.ts `catalogOnly`): the same config.yml
 * backends, catalog files, filters, sort and response as the daemon's `GET /api/offers`, without connecting to or
 * starting a daemon. Anything else (the local machine, SSH fleets, a config.yml this reader does not understand)
 * answers `undefined` and the caller asks the daemon, which also reports what is wrong.
 *
 * Kept light for the CLI's fast path (src/commands/offer-direct.ts): no zod unless a resource flag is given.
 */
import { readFile } from 'node:fs/promises';
import type { OffersResponse } from '../api.js';
import { resolveHome } from '../home/paths.js';
import { catalogOnly, readCatalogOffers } from './answer.js';
import { loadCatalog } from './load.js';
import { NO_RESOURCE_FILTERS, offerQueryString, offerQueryWith, resourceParams, type OfferQueryInput } from './offer-query.js';
import { offersResponse, rowFilter } from './offers.js';
import type { ConfiguredBackend } from './sources.js';

export async function directOffers(input: OfferQueryInput, env: NodeJS.ProcessEnv): Promise<OffersResponse | undefined> {
  // The query string and its parse, exactly as the daemon would get and read it.
  const params = new URLSearchParams(offerQueryString(input));
  const bare = offerQueryWith(params, NO_RESOURCE_FILTERS);
  if (!catalogOnly(bare)) return undefined;
  const query = Object.keys(resourceParams(params)).length > 0 ? (await import('./query.js')).parseOfferQuery(params) : bare;
  const paths = resolveHome(env);
  const backends = await configuredBackends(paths.configFile);
  if (!backends) return undefined;
  // One query in this process: only the rows it may list are parsed (the daemon keeps whole catalogs for all).
  const keep = rowFilter(query.filters);
  const clouds = await readCatalogOffers(backends, query, (provider) => loadCatalog(provider, { serverDir: paths.serverDir, keep }));
  return offersResponse([], clouds, query);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNames = (v: unknown): v is string[] => Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string' && s !== '');

/**
 * `projects[default_project].backends` (type and regions) of config.yml, as the daemon takes them; none for a home
 * without config.yml (the one the daemon would create has none), and undefined where the shape is not the expected
 * one. Not the full schema: that is the daemon's to enforce, and zod would cost this path most of its time.
 */
export async function configuredBackends(file: string): Promise<ConfiguredBackend[] | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    return undefined;
  }
  // Loaded here, not at the top: a home without config.yml does not pay for the YAML parser.
  // A bundled import() of this CJS package yields {default: module.exports} (reference/node-packages.md §2).
  const yaml: typeof import('yaml') & { default?: typeof import('yaml') } = await import('yaml');
  const { parse } = yaml.default ?? yaml;
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(doc) || typeof doc.default_project !== 'string' || !Array.isArray(doc.projects)) return undefined;
  const project: unknown = doc.projects.find((p) => isRecord(p) && p.name === doc.default_project);
  const backends = isRecord(project) ? (project.backends ?? []) : [];
  if (!Array.isArray(backends)) return undefined;
  const out: ConfiguredBackend[] = [];
  for (const b of backends) {
    if (!isRecord(b) || typeof b.type !== 'string') return undefined;
    if (b.regions !== undefined && !isNames(b.regions)) return undefined;
    out.push({ type: b.type, ...(b.regions !== undefined ? { regions: b.regions } : {}) });
  }
  return out;
}
