export { SHIPPED_PROVIDERS, shippedCatalogText, type ShippedText } from '../../core/catalog/shipped.js';
