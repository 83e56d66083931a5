/** Real normalized configurations for unit tests, made by the config language itself (never hand-built). */
import { parseConfigObject } from '../../src/core/config/parse.js';
import type { ServiceConfig } from '../../src/core/model/service.js';
import type { ScalingSettings } from '../../src/core/state/schema.js';

export function serviceConfig(raw: Record<string, unknown> = {}): ServiceConfig {
  const config = parseConfigObject({ type: 'service', image: 'img', port: 8000, ...raw }, 'test.dstack.yml');
  if (config.type !== 'service') throw new Error(`expected a service, got ${config.type}`);
  return config;
}

/** A normalized `scaling` block with dstack's defaults (window 60 s, delays 5m/10m) unless overridden. */
export const scalingOf = (over: Partial<ScalingSettings> = {}): ScalingSettings => ({
  metric: 'rps',
  target: 1,
  window: 60,
  scale_up_delay: 300,
  scale_down_delay: 600,
  ...over,
});
