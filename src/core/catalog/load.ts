/**
 * A provider's catalog: DSTACK_HOME/server/catalog/<provider>.csv (and .version) when a refresh wrote one, else
 * the shipped one. Parsed once per process and file version: the memo is keyed by the file's size and mtime, so a
 * refresh (by this daemon or by hand) is picked up on the next query without anyone invalidating anything, and a
 * query never pays for parsing the same text twice.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { parseCatalogCsv, type RowFilter } from './parse.js';
import { dateOfVersion } from './sources.js';
import type { Catalog } from './types.js';
import { SHIPPED_PROVIDERS, shippedCatalogText } from './shipped.js';

export interface CatalogFiles {
  csv: string;
  version: string;
}

export function catalogFiles(serverDir: string, provider: string): CatalogFiles {
  const dir = join(serverDir, 'catalog');
  return { csv: join(dir, `${provider}.csv`), version: join(dir, `${provider}.version`) };
}

// A memo of pure parses keyed by what was parsed (see above); it can never hand out a stale catalog.
const memo = new Map<string, { key: string; catalog: Promise<Catalog> }>();

function memoized(slot: string, key: string, load: () => Promise<Catalog>, keep: RowFilter | undefined): Promise<Catalog> {
  // A catalog cut to one query's rows is that query's alone.
  if (keep) return load();
  const hit = memo.get(slot);
  if (hit && hit.key === key) return hit.catalog;
  const catalog = load();
  memo.set(slot, { key, catalog });
  catalog.catch(() => {
    if (memo.get(slot)?.catalog === catalog) memo.delete(slot);
  });
  return catalog;
}

const isoDay = (d: Date): string => d.toISOString().slice(0, 10);

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export interface LoadOptions {
  serverDir: string;
  /** Parse only the rows this keeps (a one-off query: `dstack offer` in the CLI); the result is not memoized. */
  keep?: RowFilter;
}

export async function loadCatalog(provider: string, opts: LoadOptions): Promise<Catalog> {
  const files = catalogFiles(opts.serverDir, provider);
  const csv = await statOrUndefined(files.csv);
  if (csv) {
    const version = await statOrUndefined(files.version);
    const key = `${csv.mtimeMs}:${csv.size}:${version?.mtimeMs ?? '-'}:${version?.size ?? '-'}`;
    return memoized(files.csv, key, async () => {
      const [text, v] = await Promise.all([readFile(files.csv, 'utf8'), version ? readFile(files.version, 'utf8') : Promise.resolve('')]);
      // Without a version file the file's own age is the best date there is.
      const date = dateOfVersion(v) ?? isoDay(csv.mtime);
      return parseCatalogCsv(text, provider, { date, source: files.csv, ...(opts.keep ? { keep: opts.keep } : {}) });
    }, opts.keep);
  }
  return loadShippedCatalog(provider, opts.keep);
}

/** The catalog in the bundle, whatever DSTACK_HOME holds (a refresh from EC2 takes its on-demand prices from it). */
export function loadShippedCatalog(provider: string, keep?: RowFilter): Promise<Catalog> {
  return memoized(`shipped:${provider}`, 'shipped', async () => {
    const text = await shippedCatalogText(provider);
    if (!text) {
      throw new UserError('UNKNOWN_CATALOG', `dstack has no catalog for ${provider}`, { hint: `Catalogs ship for ${SHIPPED_PROVIDERS.join(', ')}.` });
    }
    return parseCatalogCsv(text.csv, provider, { date: dateOfVersion(text.version) ?? text.version, source: 'shipped', ...(keep ? { keep } : {}) });
  }, keep);
}
