/**
 * Which catalogs an offers query reads: those of the cloud backends configured in config.yml (limited to their
 * `regions`), and, when the user names a cloud with `--backend`, that cloud's catalog even if it is not configured,
 * so prices can be compared before any credentials exist (issue 13). Pure.
 */
import type { CatalogInfo } from '../api.js';

export interface ConfiguredBackend {
  type: string;
  regions?: readonly string[] | undefined;
}

export interface CatalogSource {
  provider: string;
  configured: boolean;
  /** The backend's `regions`: its offers come from these only. */
  regions?: string[];
}

/** `named`: the `--backend` values (lower case); `shipped`: providers dstack has a catalog for. */
export function catalogSources(configured: readonly ConfiguredBackend[], named: readonly string[], shipped: readonly string[]): CatalogSource[] {
  const sources = new Map<string, CatalogSource>();
  for (const b of configured) {
    const seen = sources.get(b.type);
    // Two entries of one type widen the regions; an entry without `regions` means all of them.
    const regions =
      seen === undefined ? b.regions && [...b.regions] : seen.regions === undefined || b.regions === undefined ? undefined : [...seen.regions, ...b.regions];
    sources.set(b.type, { provider: b.type, configured: true, ...(regions ? { regions } : {}) });
  }
  if (named.length === 0) return [...sources.values()];
  const out: CatalogSource[] = [];
  for (const provider of new Set(named)) {
    const source = sources.get(provider);
    if (source) out.push(source);
    else if (shipped.includes(provider)) out.push({ provider, configured: false });
  }
  return out;
}

export function unconfiguredNote(info: CatalogInfo): string {
  return `${info.provider} is not configured in config.yml; prices from the catalog of ${info.date}`;
}

/** A catalog version as gpuhunt writes it (`20261205`) or an ISO date, to the ISO date; undefined if neither. */
export function dateOfVersion(version: string): string | undefined {
  const v = version.trim();
  const compact = /^(\d{4})(\d{2})(\d{2})$/.exec(v);
  if (compact) return `${compact[1]}-${compact[2]}-${compact[3]}`;
  return /^\d{4}-\d{2}-\d{2}$/.test(v) ? v : undefined;
}
