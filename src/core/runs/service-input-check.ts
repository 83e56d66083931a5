/** Compile-time proof that the config language's `ServiceConfig` gives the control plane what it reads. */
import type { ServiceConfig } from '../model/service.js';
import type { ServiceInput } from './service-input.js';

export const asServiceInput = (config: ServiceConfig): ServiceInput => config;
