/**
 * The catalogs shipped in the bundle (catalog/<provider>.csv and .version). Each is its own lazily loaded chunk:
 * only a query that reads that provider's catalog (in the daemon, or `dstack offer --backend <cloud>` in the CLI)
 * pays for loading and parsing it, never `dstack --version`.
 */
export const SHIPPED_PROVIDERS = ['aws', 'gcp'] as const;

export interface ShippedText {
  csv: string;
  version: string;
}

export async function shippedCatalogText(provider: string): Promise<ShippedText | undefined> {
  switch (provider) {
    case 'aws': {
      const [csv, version] = await Promise.all([import('../../../catalog/aws.csv?raw'), import('../../../catalog/aws.version?raw')]);
      return { csv: csv.default, version: version.default.trim() };
    }
    case 'gcp': {
      const [csv, version] = await Promise.all([import('../../../catalog/gcp.csv?raw'), import('../../../catalog/gcp.version?raw')]);
      return { csv: csv.default, version: version.default.trim() };
    }
    default:
      return undefined;
  }
}
