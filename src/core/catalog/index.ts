export type { Catalog, CatalogItem, OfferFilters } from './types.js';
export { CATALOG_COLUMNS, csvRecords, formatCatalogCsv, parseCatalogCsv, type CatalogColumn, type ParseOptions, type RowFilter } from './parse.js';
export { catalogInfo, catalogOnly, readCatalogOffers, type LoadCatalog } from './answer.js';
export {
  byPrice, catalogOffers, DEFAULT_DISK_BYTES, mergeOffers, offerOf, offersResponse, profileAllows, regionOf, resourcesFit, restrictRegions, rowFilter,
  type CatalogOffers,
} from './offers.js';
export { offerQueryString, parseOfferQuery, SPOT_POLICIES, type OfferQuery, type OfferQueryInput, type SpotPolicy } from './query.js';
export { catalogSources, dateOfVersion, unconfiguredNote, type CatalogSource, type ConfiguredBackend } from './sources.js';
