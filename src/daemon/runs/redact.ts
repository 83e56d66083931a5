/**
 * Secrets in a stored configuration, masked before it leaves the daemon (run and fleet views): registry passwords,
 * env values whose names say they are secret, and a SkyServe task's `secrets`. Values the caller supplied at apply
 * (`env: - NAME`, `-e`) are already stored masked (core/secrets/supplied.ts). A `${{ secrets.NAME }}` reference
 * holds no value, so it is shown as written: it says which secret is used. The stored raw configuration is JSON,
 * so this walks `Json`.
 */
import type { Json } from '../../core/model/json.js';
import { MASK } from '../../core/secrets/supplied.js';
import type { RunRecord } from '../../core/state/schema.js';

const SECRET_KEY = /(token|secret|password|passwd|api_?key|credential)/i;
const ONLY_REFERENCES = /^(\s*\$\{\{\s*secrets\.[A-Za-z_][A-Za-z0-9_]*\s*\}\}\s*)+$/;

type JsonObject = { [key: string]: Json };
const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const hide = (v: Json): Json => (typeof v === 'string' && ONLY_REFERENCES.test(v) ? v : MASK);

/** `KEY=VALUE` list entries keep their key; a bare `KEY` (required, resolved by the CLI) has no value to hide. */
function maskEntry(entry: Json): Json {
  if (typeof entry !== 'string' || !entry.includes('=')) return entry;
  const key = entry.slice(0, entry.indexOf('='));
  return SECRET_KEY.test(key) ? `${key}=${hide(entry.slice(key.length + 1))}` : entry;
}

function maskEnv(env: Json | undefined): Json | undefined {
  if (Array.isArray(env)) return env.map(maskEntry);
  if (isObject(env)) return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, SECRET_KEY.test(k) ? hide(v) : v]));
  return env;
}

export function maskSecrets(raw: Json): Json {
  if (!isObject(raw)) return raw;
  const copy: JsonObject = { ...raw };
  const auth = raw.registry_auth;
  if (isObject(auth) && auth.password !== undefined) copy.registry_auth = { ...auth, password: hide(auth.password) };
  for (const key of ['env', 'envs']) {
    const env = maskEnv(raw[key]);
    if (env !== undefined) copy[key] = env;
  }
  // SkyServe: `secrets` are env variables passed with `--secret`, secret by definition.
  const secrets = raw.secrets;
  if (!('type' in raw) && isObject(secrets)) copy.secrets = Object.fromEntries(Object.keys(secrets).map((k) => [k, secrets[k] === null ? null : MASK]));
  return copy;
}

/** The masked keys of a configuration's env (either spelling, list or map). */
function maskedKeys(shown: Json): string[] {
  if (!isObject(shown)) return [];
  return ['env', 'envs'].flatMap((key) => {
    const env = shown[key];
    if (Array.isArray(env)) return env.flatMap((e) => (typeof e === 'string' && e.endsWith(`=${MASK}`) ? [e.slice(0, -MASK.length - 1)] : []));
    return isObject(env) ? Object.keys(env).filter((k) => env[k] === MASK) : [];
  });
}

/**
 * The secret values a run holds itself (not references): env values its view masks and a literal registry
 * password. The daemon's log masks them, as it masks tokens.
 */
export function secretValuesOf(run: RunRecord): string[] {
  const env = run.specTemplate.env;
  const values = maskedKeys(maskSecrets(run.configRaw)).flatMap((k) => (env[k] !== undefined ? [env[k]] : []));
  const password = run.specTemplate.registryAuth?.password;
  if (password !== undefined && !ONLY_REFERENCES.test(password)) values.push(password);
  return values;
}
