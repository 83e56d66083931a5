/**
 * Refreshing DSTACK_HOME/server/catalog/<provider>.csv (+ .version): from a gpuhunt-compatible base URL
 * (`{base}/{provider}/version`, then `{base}/{provider}/{version}/catalog.zip` holding `<provider>.csv`), or from the
 * cloud's own API (aws: EC2 DescribeInstanceTypes + DescribeSpotPriceHistory, src/backends/aws/catalog-refresh.ts,
 * loaded lazily with the SDK). What is written was parsed first, so a bad download never replaces a good catalog.
 */
import { strFromU8, unzipSync } from 'fflate';
import { dateOfVersion } from '../../core/catalog/sources.js';
import { formatCatalogCsv, parseCatalogCsv } from '../../core/catalog/parse.js';
import type { CatalogItem } from '../../core/catalog/types.js';
import type { CatalogRefreshResult } from '../../core/api.js';
import { UserError } from '../../core/errors.js';
import type { AwsBackendConfig } from '../../core/home/backends-config.js';
import { writeFileAtomic } from '../../core/home/atomic-write.js';
import { catalogFiles, loadShippedCatalog } from './load.js';

export type RefreshedCatalog = CatalogRefreshResult['written'][number];

export interface RefreshOptions {
  serverDir: string;
  providers: readonly string[];
  /** A gpuhunt-compatible base URL; absent = the clouds' APIs. */
  baseUrl?: string;
  /** For the clouds' APIs: the aws backend of config.yml (default chain when absent) and where errors say it is. */
  aws?: { config: AwsBackendConfig; configPath: string };
  env?: Readonly<Record<string, string | undefined>>;
  now?: () => number;
  fetch?: typeof fetch;
  /** Per HTTP request (default 60 s). */
  timeoutMs?: number;
}

const PROVIDER = /^[a-z][a-z0-9-]{0,31}$/;
// The version names a URL path segment and nothing else: no slashes, no dots-only names.
const VERSION = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

export async function refreshCatalog(o: RefreshOptions): Promise<RefreshedCatalog[]> {
  const written: RefreshedCatalog[] = [];
  for (const provider of o.providers) {
    if (!PROVIDER.test(provider)) throw new UserError('INVALID_REQUEST', `not a provider name: ${JSON.stringify(provider)}`);
    written.push(o.baseUrl !== undefined ? await fromUrl(o, o.baseUrl, provider) : await fromApi(o, provider));
  }
  return written;
}

async function fromUrl(o: RefreshOptions, baseUrl: string, provider: string): Promise<RefreshedCatalog> {
  const base = baseUrl.replace(/\/+$/, '');
  const versionUrl = `${base}/${provider}/version`;
  const version = new TextDecoder().decode(await get(o, versionUrl)).trim();
  if (!VERSION.test(version)) throw new UserError('CATALOG_FETCH_FAILED', `${versionUrl} answered ${JSON.stringify(version.slice(0, 40))}, not a catalog version`);
  const zipUrl = `${base}/${provider}/${version}/catalog.zip`;
  const zip = await get(o, zipUrl);
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip, { filter: (f) => f.name === `${provider}.csv` || f.name.endsWith(`/${provider}.csv`) });
  } catch (e) {
    throw new UserError('CATALOG_FETCH_FAILED', `${zipUrl} is not a zip archive: ${(e as Error).message}`, { cause: e });
  }
  const csv = Object.values(files)[0];
  if (!csv) throw new UserError('CATALOG_FETCH_FAILED', `${zipUrl} holds no ${provider}.csv`);
  const text = strFromU8(csv);
  const date = dateOfVersion(version) ?? isoDay(o.now?.() ?? Date.now());
  const rows = parseCatalogCsv(text, provider, { date, source: `${zipUrl}!${provider}.csv` }).items.length;
  return write(o, provider, text, version, date, rows, zipUrl);
}

async function fromApi(o: RefreshOptions, provider: string): Promise<RefreshedCatalog> {
  if (provider !== 'aws') {
    throw new UserError('CATALOG_REFRESH_UNSUPPORTED', `dstack cannot read ${provider}'s prices from its API yet`, {
      hint: 'Pass --url with a gpuhunt-compatible base URL.',
    });
  }
  const { fetchAwsCatalog } = await import('../aws/catalog-refresh.js');
  const aws = o.aws ?? { config: { type: 'aws', creds: { type: 'default' } }, configPath: 'the default AWS credential chain' };
  const items: CatalogItem[] = await fetchAwsCatalog(aws.config, o.env ?? {}, { shipped: await loadShippedCatalog('aws'), configPath: aws.configPath });
  const now = o.now?.() ?? Date.now();
  const date = isoDay(now);
  return write(o, provider, formatCatalogCsv(items), date.replaceAll('-', ''), date, items.length, 'EC2 DescribeInstanceTypes + DescribeSpotPriceHistory');
}

async function write(o: RefreshOptions, provider: string, csv: string, version: string, date: string, rows: number, origin: string): Promise<RefreshedCatalog> {
  // An empty catalog would silently take every offer of this provider away.
  if (rows === 0) throw new UserError('CATALOG_FETCH_FAILED', `the ${provider} catalog from ${origin} has no rows; the current one is kept`);
  const files = catalogFiles(o.serverDir, provider);
  await writeFileAtomic(files.csv, csv);
  await writeFileAtomic(files.version, `${version}\n`);
  return { provider, date, version, source: origin, path: files.csv, rows };
}

async function get(o: RefreshOptions, url: string): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await (o.fetch ?? fetch)(url, { signal: AbortSignal.timeout(o.timeoutMs ?? 60_000), redirect: 'follow' });
  } catch (e) {
    // fetch() says only "fetch failed"; the reason (ECONNREFUSED, a DNS error, the timeout) is its cause.
    const reason = ((e as Error).cause as Error | undefined)?.message ?? (e as Error).message;
    throw new UserError('CATALOG_FETCH_FAILED', `GET ${url} failed: ${reason}`, { cause: e, status: 502 });
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new UserError('CATALOG_FETCH_FAILED', `GET ${url} answered ${res.status} ${res.statusText}`, { status: 502 });
  }
  return new Uint8Array(await res.arrayBuffer());
}

const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
