/**
 * Values the CLI takes from the caller at apply time are secrets too (issue 14): `env: - HF_TOKEN` and `-e` fill
 * `env` from the caller's environment, and `${{ env.NAME }}` does the same in `registry_auth` and probes. They
 * must reach the container but never the screen, so the CLI names where they went (key paths into the config it
 * sends) and the daemon stores and shows the configuration with those places masked.
 */
export type KeyPath = Array<string | number>;

export const MASK = '***';

const ENV_REFERENCE = /\$\{\{\s*env\./;

type Raw = Record<string, unknown>;
const isRaw = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const fromEnv = (v: unknown) => typeof v === 'string' && ENV_REFERENCE.test(v);

/** Names the YAML leaves to the caller: bare `KEY` list items and `KEY: null` map entries. */
function bareNames(env: unknown): string[] {
  if (Array.isArray(env)) return env.filter((e): e is string => typeof e === 'string' && !e.includes('='));
  return isRaw(env) ? Object.keys(env).filter((k) => env[k] === null) : [];
}

function probePaths(probes: unknown): KeyPath[] {
  if (!Array.isArray(probes)) return [];
  return probes.flatMap((p: unknown, i): KeyPath[] => {
    if (!isRaw(p)) return [];
    const own = (['url', 'body'] as const).filter((k) => fromEnv(p[k])).map((k): KeyPath => ['probes', i, k]);
    const headers = Array.isArray(p.headers) ? p.headers : [];
    return [...own, ...headers.flatMap((h: unknown, j): KeyPath[] => (isRaw(h) && fromEnv(h.value) ? [['probes', i, 'headers', j, 'value']] : []))];
  });
}

/**
 * Key paths, in the configuration as `resolveEnv` returns it (env as a map), of every value taken from the
 * caller: `raw` is the YAML before resolution, `overrides` the `-e` flags.
 */
export function callerSuppliedPaths(raw: unknown, overrides: Readonly<Record<string, unknown>> = {}): KeyPath[] {
  if (!isRaw(raw)) return [];
  // A SkyServe file keeps its environment under `envs` (resolveEnv reads it there too).
  const envKey = !('type' in raw) && 'service' in raw ? 'envs' : 'env';
  const names = new Set([...bareNames(raw[envKey]), ...Object.keys(overrides)]);
  const paths: KeyPath[] = [...names].map((n) => [envKey, n]);
  const auth = raw.registry_auth;
  if (isRaw(auth)) for (const k of ['username', 'password']) if (fromEnv(auth[k])) paths.push(['registry_auth', k]);
  paths.push(...probePaths(raw.probes));
  const probe = isRaw(raw.service) && isRaw(raw.service.readiness_probe) ? raw.service.readiness_probe : undefined;
  // SkyServe also substitutes `$NAME` from the task's env into readiness probe headers.
  if (probe && isRaw(probe.headers)) for (const [h, v] of Object.entries(probe.headers)) if (typeof v === 'string' && v.includes('$')) paths.push(['service', 'readiness_probe', 'headers', h]);
  return paths;
}

/** A copy of `value` with the string at each path replaced by MASK (paths that lead nowhere are skipped). */
export function maskPaths<T>(value: T, paths: readonly KeyPath[]): T {
  if (paths.length === 0) return value;
  const copy = structuredClone(value) as unknown;
  for (const path of paths) {
    let node: unknown = copy;
    for (const key of path.slice(0, -1)) node = isRaw(node) || Array.isArray(node) ? (node as Raw)[key as string] : undefined;
    const last = path[path.length - 1];
    if (last === undefined || !(isRaw(node) || Array.isArray(node))) continue;
    const holder = node as Raw;
    if (typeof holder[last as string] === 'string') holder[last as string] = MASK;
  }
  return copy as T;
}
