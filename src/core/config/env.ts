/**
 * Required environment variables and `${{ env.NAME }}` interpolation, resolved by the CLI before the config
 * goes to the daemon (dstack-notes §2.5: `-e` wins over the YAML, then the CLI's own environment).
 */
import { UserError } from '../errors.js';

export type EnvOverrides = Record<string, string | undefined>;

const INTERPOLATION = /\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

function notSet(name: string): UserError {
  return new UserError('ENV_NOT_SET', `Environment variable ${name} is not set`, { hint: `pass -e ${name}=… or export ${name} before running dstack` });
}

/** `env` (list or map) → map, with `null` for bare required names. Unparseable shapes pass through untouched. */
function envMap(env: unknown): Record<string, string | null> | undefined {
  if (Array.isArray(env)) {
    const out: Record<string, string | null> = {};
    for (const item of env) {
      if (typeof item !== 'string') return undefined;
      const eq = item.indexOf('=');
      out[eq < 0 ? item : item.slice(0, eq)] = eq < 0 ? null : item.slice(eq + 1);
    }
    return out;
  }
  if (typeof env === 'object' && env !== null) {
    return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? null : typeof v === 'object' ? JSON.stringify(v) : String(v)]));
  }
  return env === undefined ? {} : undefined;
}

/**
 * Returns a copy of a raw configuration with every required variable filled in (from `overrides`, then
 * `processEnv`), `-e` values applied on top of the YAML, and `${{ env.NAME }}` replaced in `registry_auth`
 * and probe url/headers/body. SkyServe files (`envs`, `readiness_probe.headers`) are handled the same way.
 * Throws ENV_NOT_SET for the first variable that has no value.
 */
export function resolveEnv(raw: unknown, overrides: EnvOverrides = {}, processEnv: EnvOverrides = {}): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const out = structuredClone(raw) as Record<string, unknown>;
  const key = !('type' in out) && 'service' in out ? 'envs' : 'env';
  const declared = envMap(out[key]);
  if (declared === undefined) return out;
  const resolved: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...declared, ...overrides })) {
    const v = name in overrides ? overrides[name] ?? processEnv[name] : value ?? processEnv[name];
    if (v === undefined) throw notSet(name);
    resolved[name] = v;
  }
  if (Object.keys(resolved).length > 0 || out[key] !== undefined) out[key] = resolved;
  const lookup = (name: string): string => {
    const v = resolved[name] ?? overrides[name] ?? processEnv[name];
    if (v === undefined) throw notSet(name);
    return v;
  };
  const sub = (s: unknown) => (typeof s === 'string' ? s.replace(INTERPOLATION, (_, n: string) => lookup(n)) : s);
  const auth = out.registry_auth as Record<string, unknown> | undefined;
  if (auth && typeof auth === 'object') for (const k of ['username', 'password']) if (k in auth) auth[k] = sub(auth[k]);
  if (Array.isArray(out.probes)) {
    for (const p of out.probes as Record<string, unknown>[]) {
      if (typeof p !== 'object' || p === null) continue;
      p.url = sub(p.url);
      if ('body' in p) p.body = sub(p.body);
      if (Array.isArray(p.headers)) for (const h of p.headers as Record<string, unknown>[]) if (h && typeof h === 'object') h.value = sub(h.value);
    }
  }
  const service = out.service as Record<string, unknown> | undefined;
  const probe = service && typeof service === 'object' ? (service.readiness_probe as Record<string, unknown> | undefined) : undefined;
  const headers = probe && typeof probe === 'object' ? (probe.headers as Record<string, unknown> | undefined) : undefined;
  if (headers && typeof headers === 'object') {
    // SkyServe substitutes the task's env into probe headers (`Bearer $AUTH_TOKEN`).
    for (const [h, v] of Object.entries(headers)) {
      headers[h] = typeof v === 'string' ? (sub(v) as string).replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (m, n: string) => resolved[n] ?? m) : v;
    }
  }
  return out;
}
