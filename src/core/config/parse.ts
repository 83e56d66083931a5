/**
 * One entry point for every configuration object: dispatches on `type` (service, fleet), recognises SkyServe
 * YAMLs (no `type`, a `service:` section) and SkyPilot files that are not services, and reports all problems.
 * The CLI (with positions, load.ts) and the daemon (`parseConfigObject`) both go through here.
 */
import { FleetConfigSchema, ServiceConfigSchema, type AnyConfig, type ConfigKind } from '../model/index.js';
import { closest } from '../model/strict.js';
import { ConfigError, formatPath, issuesToProblems, type ConfigPath, type PathProblem } from './problems.js';
import { SKYPILOT_GLOBAL_KEYS, SKYPILOT_TASK_KEYS } from './skyserve/schema.js';
import { translateSkyServe } from './skyserve/translate.js';

export type ParseResult = { ok: true; kind: ConfigKind; config: AnyConfig } | { ok: false; problems: PathProblem[] };

const KNOWN_DSTACK_TYPES = ['task', 'dev-environment', 'gateway', 'volume'];

export function parseConfig(raw: unknown): ParseResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return fail([], `expected a mapping of configuration keys at the top level, got ${Array.isArray(raw) ? 'a list' : typeof raw === 'string' ? 'a string' : String(raw)}`);
  }
  const o = raw as Record<string, unknown>;
  if (o.type === 'service') return fromZod(ServiceConfigSchema.safeParse(raw), raw, 'service');
  if (o.type === 'fleet') return fromZod(FleetConfigSchema.safeParse(raw), raw, 'fleet');
  if (o.type !== undefined) {
    if (typeof o.type === 'string' && KNOWN_DSTACK_TYPES.includes(o.type)) {
      return fail(['type'], `\`type: ${o.type}\` is a dstack configuration this tool does not run; only \`service\` and \`fleet\` are supported`);
    }
    const hint = typeof o.type === 'string' ? closest(o.type, ['service', 'fleet']) : undefined;
    return fail(['type'], `unknown configuration type \`${String(o.type)}\`; expected \`service\` or \`fleet\`${hint ? `; did you mean \`${hint}\`?` : ''}`);
  }
  return parseUntyped(o);
}

function parseUntyped(o: Record<string, unknown>): ParseResult {
  const keys = Object.keys(o);
  if ('service' in o) return parseSkyServe(o);
  if (keys.some((k) => SKYPILOT_TASK_KEYS.includes(k))) {
    return fail([], 'this is a SkyPilot task YAML without a `service:` section; add one (e.g. `service: {readiness_probe: /, replicas: 1}`) to serve it');
  }
  if (keys.length > 0 && keys.every((k) => SKYPILOT_GLOBAL_KEYS.includes(k))) {
    const what = 'serve' in o ? 'the SkyServe controller settings' : 'settings';
    return fail([], `this is a SkyPilot global config (~/.sky/config.yaml) snippet with ${what}, not a service configuration`);
  }
  return fail([], 'missing `type`; expected `type: service` or `type: fleet` (or a SkyServe YAML with a `service:` section)');
}

function parseSkyServe(o: Record<string, unknown>): ParseResult {
  const t = translateSkyServe(o);
  if (!t.ok) return t;
  const r = ServiceConfigSchema.safeParse(t.value.raw);
  if (!r.success) {
    // Point each problem at the SkyServe key the offending dstack key was made from.
    const problems = issuesToProblems(r.error.issues, t.value.raw).map((p): PathProblem => {
      const key = String(p.path[0] ?? '');
      const from = t.value.origin[key] ?? [];
      return { path: from, message: key === '' ? p.message : `${p.message} (as dstack \`${formatPath(p.path)}\`)` };
    });
    return { ok: false, problems };
  }
  return { ok: true, kind: 'service', config: { ...r.data, source_format: 'skyserve', skyserve: t.value.extras } };
}

function fromZod(r: { success: true; data: AnyConfig } | { success: false; error: { issues: readonly import('zod').z.core.$ZodIssue[] } }, raw: unknown, kind: ConfigKind): ParseResult {
  return r.success ? { ok: true, kind, config: r.data } : { ok: false, problems: issuesToProblems(r.error.issues, raw) };
}

function fail(path: ConfigPath, message: string): ParseResult {
  return { ok: false, problems: [{ path, message }] };
}

/** For the daemon: the same schema without positions. Throws ConfigError whose problems carry dotted paths. */
export function parseConfigObject(raw: unknown, file = '<config>'): AnyConfig {
  const r = parseConfig(raw);
  if (r.ok) return r.config;
  throw new ConfigError(r.problems.map((p) => ({ file, line: 0, col: 0, path: formatPath(p.path), message: p.message })));
}
