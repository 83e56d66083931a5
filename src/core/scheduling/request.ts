/**
 * A `PlacementRequest` from a run configuration: `requirementsOf(resources)` plus what placement needs beyond
 * offer matching (`gpu.compute_capability`) and the `fleets:` / `backends:` / `instance_types:` filters, so the
 * daemon does not drop one of them on the way. Pure.
 */
import type { ResourcesSpec } from '../model/resources.js';
import { requirementsOf } from '../runs/requirements.js';
import type { PlacementRequest } from './types.js';

export interface PlacementConfig {
  resources: ResourcesSpec;
  fleets?: string[] | undefined;
  backends?: string[] | undefined;
  instance_types?: string[] | undefined;
}

export function placementRequest(runName: string, config: PlacementConfig): PlacementRequest {
  const requirements = requirementsOf(config.resources);
  const cc = config.resources.gpu.compute_capability;
  return {
    runName,
    requirements: { ...requirements, gpu: cc === undefined ? requirements.gpu : { ...requirements.gpu, computeCapability: cc } },
    ...(config.fleets !== undefined ? { fleets: config.fleets } : {}),
    ...(config.backends !== undefined ? { backends: config.backends } : {}),
    ...(config.instance_types !== undefined ? { instanceTypes: config.instance_types } : {}),
  };
}
