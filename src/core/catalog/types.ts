/**
 * The offers catalog (gpuhunt's v2 CSV format, one file per provider): what each cloud sells, where, at what price.
 * Rows are per location (AWS region, GCP zone) and per purchase option (spot prices are their own rows). Pure data:
 * loading (shipped files, DSTACK_HOME/server/catalog, refresh) lives in src/backends/catalog.
 */
import type { Requirements } from '../runs/requirements.js';

export interface CatalogItem {
  /** `aws`, `gcp`: the backend that sells it. */
  provider: string;
  instanceName: string;
  /** AWS: region (`us-east-1`); GCP: zone (`us-central1-a`). */
  location: string;
  /** Dollars per hour. */
  price: number;
  cpu: number;
  memoryGiB: number;
  gpuCount: number;
  gpuName?: string;
  gpuMemoryGiB?: number;
  gpuVendor?: string;
  spot: boolean;
  /** The instance's own local disk, when it has one (GiB); otherwise the disk is sized from `resources.disk`. */
  diskSizeGiB?: number;
  flags: string[];
  /** `x86` or `arm`. */
  cpuArch: string;
  /** Provider-specific fields (JSON in the CSV's last column). */
  providerData?: Record<string, unknown>;
}

export interface Catalog {
  provider: string;
  /** When the prices were taken (ISO date, e.g. `2026-11-20`); `dstack offer` and the plan print it. */
  date: string;
  /** Where it came from: `shipped`, a file under DSTACK_HOME/server/catalog, or a refresh URL. */
  source: string;
  items: CatalogItem[];
}

/** The profile fields that narrow offers (service, fleet or `dstack offer` flags). */
export interface OfferFilters {
  requirements: Requirements;
  /** `resources.cpu` with an architecture (`arm:8`): only rows of that `cpu_arch`. */
  cpuArch?: 'x86' | 'arm';
  backends?: readonly string[];
  regions?: readonly string[];
  instanceTypes?: readonly string[];
  /** Default `on-demand` (dstack's default for services); `auto` takes both, spot first at equal price. */
  spotPolicy?: 'spot' | 'on-demand' | 'auto';
  maxPrice?: number;
}
