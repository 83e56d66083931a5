import { parseConfigObject } from '../../core/config/load.js';
import { UserError } from '../../core/errors.js';
import type { FleetConfig } from '../../core/model/fleet.js';

/** A raw `type: fleet` object through the same schema the CLI validated it with. */
export function parseFleetConfig(raw: unknown): FleetConfig {
  const config = parseConfigObject(raw, '<applied fleet configuration>');
  if (config.type !== 'fleet') {
    throw new UserError('NOT_A_FLEET', `Only \`type: fleet\` configurations can be applied as fleets (got \`${String(config.type)}\`)`);
  }
  return config;
}
