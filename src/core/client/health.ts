/**
 * `GET /api/health` with a short deadline. Three outcomes matter to the caller: nothing listens (start a daemon),
 * a dstack daemon answers (maybe for another DSTACK_HOME), or something else holds the port.
 */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { request } from 'undici';
import { Health } from '../api.js';

export type Probe = { kind: 'none' } | { kind: 'daemon'; health: Health } | { kind: 'foreign'; detail: string };

export async function probeHealth(origin: string, timeoutMs = 1500): Promise<Probe> {
  try {
    const res = await request(`${origin}/api/health`, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs, reset: true });
    const text = await res.body.text();
    if (res.statusCode !== 200) return { kind: 'foreign', detail: `HTTP ${res.statusCode}` };
    const parsed = Health.safeParse(JSON.parse(text));
    return parsed.success ? { kind: 'daemon', health: parsed.data } : { kind: 'foreign', detail: 'not a dstack health answer' };
  } catch (e) {
    if (e instanceof SyntaxError) return { kind: 'foreign', detail: 'not JSON' };
    // Refused, reset or timed out: treat as "no daemon here"; the caller's bounded wait decides when to give up.
    return { kind: 'none' };
  }
}

export function sameHome(a: string, b: string): boolean {
  return canonical(a) === canonical(b);
}

function canonical(p: string): string {
  try {
    return realpathSync(resolve(p));
  } catch {
    return resolve(p);
  }
}
