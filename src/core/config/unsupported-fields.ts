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
 * is only used to name replica groups the way the user wrote them: legacy `replicas: [...]` or `groups: [...]`.
 */
export function unsupportedFields(config: AnyConfig, raw?: unknown): UnsupportedField[] {
  return config.type === 'fleet' ? fleetFields(config) : serviceFields(config, raw);
}

function serviceFields(config: ServiceConfig, raw: unknown): UnsupportedField[] {
  const out: UnsupportedField[] = [];
  const groupsKey = isObject(raw) && Array.isArray(raw.replicas) ? 'replicas' : 'groups';
  config.groups?.forEach((g, i) => {
    if (g.router === undefined) return;
    const router = g.router.type === 'dynamo' ? 'NVIDIA Dynamo frontend' : 'SGLang router';
    const what = `dstack runs the ${router} in this group and sends it the other groups' replicas as workers, for prefill-decode disaggregation`;
    out.push(notYet(`${groupsKey}[${i}].router`, what));
  });
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

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
