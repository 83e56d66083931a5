// The loader lives in core so `dstack offer` can answer catalog-only queries in the CLI with the daemon's own code.
export { catalogFiles, loadCatalog, loadShippedCatalog, type CatalogFiles, type LoadOptions } from '../../core/catalog/load.js';
