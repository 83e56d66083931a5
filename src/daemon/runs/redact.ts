/**
 * Secrets in a stored configuration, masked before it leaves the daemon (run and fleet views): registry passwords,
 * and env values whose names say they are secret. The stored raw configuration is JSON, so this walks `Json`.
 */
import type { Json } from '../../core/model/json.js';

const SECRET_KEY = /(token|secret|password|passwd|api_?key|credential)/i;
const MASK = '***';

type JsonObject = { [key: string]: Json };
const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `KEY=VALUE` list entries keep their key; a bare `KEY` (required, resolved by the CLI) has no value to hide. */
function maskEntry(entry: Json): Json {
  if (typeof entry !== 'string' || !entry.includes('=')) return entry;
  const key = entry.slice(0, entry.indexOf('='));
  return SECRET_KEY.test(key) ? `${key}=${MASK}` : entry;
}

function maskEnv(env: Json | undefined): Json | undefined {
  if (Array.isArray(env)) return env.map(maskEntry);
  if (isObject(env)) return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, SECRET_KEY.test(k) ? MASK : v]));
  return env;
}

export function maskSecrets(raw: Json): Json {
  if (!isObject(raw)) return raw;
  const copy: JsonObject = { ...raw };
  const auth = raw.registry_auth;
  if (isObject(auth) && 'password' in auth) copy.registry_auth = { ...auth, password: MASK };
  const env = maskEnv(raw.env);
  if (env !== undefined) copy.env = env;
  return copy;
}
