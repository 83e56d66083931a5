export type * from './types.js';
export { placeReplica } from './place.js';
export { offersFor } from './offers.js';
export { placementRequest, type PlacementConfig } from './request.js';
