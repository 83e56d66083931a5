/**
 * Fields the schema accepts (so dstack's documented configurations validate) but the run and fleet logic does
 * not act on yet. Applying such a configuration must say so instead of quietly doing something else, so the
 * apply path reports each entry (src/core/runs/support.ts decides whether it is an error or a warning).
 */
import type { AnyConfig, FleetConfig, ServiceConfig } from '../model/index.js';

export interface UnsupportedField {
  /** The key path as the user wrote it, e.g. `replicas[0].router`, `env.HF_TOKEN`. */
  path: string;
  message: string;
}

const notYet = (path: string, what: string): UnsupportedField => ({ path, message: `\`${path}\` is not supported yet (${what})` });

/**
 * One entry per field that is set and parsed but not implemented. `raw` (the YAML as parsed, before the schema)
 * names keys the way the user wrote them where that differs (replica groups: legacy `replicas: [...]` or
 * `groups: [...]`); no current entry needs it. A group's `router` is implemented (issue 14: core/runs/router.ts).
 */
export function unsupportedFields(config: AnyConfig, _raw?: unknown): UnsupportedField[] {
  return config.type === 'fleet' ? fleetFields(config) : serviceFields(config);
}

function serviceFields(config: ServiceConfig): UnsupportedField[] {
  const out: UnsupportedField[] = [];
  if (config.backend_options !== undefined) out.push(backendOptions());
  return out;
}

function fleetFields(config: FleetConfig): UnsupportedField[] {
  const out: UnsupportedField[] = [];
  if (config.backend_options !== undefined) out.push(backendOptions());
  return out;
}

function backendOptions(): UnsupportedField {
  return notYet('backend_options', 'dstack filters and orders Vast.ai offers with them; there is no Vast.ai backend');
}
