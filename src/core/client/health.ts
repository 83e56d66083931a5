/**
 * `GET /api/health` with a short deadline. Three outcomes matter to the caller: nothing listens (start a daemon),
 * a dstack daemon answers (maybe for another DSTACK_HOME), or something else holds the port. node:http, not
 * undici: see transport.ts (a short command would wait at exit for undici's WebAssembly to compile).
 */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { Health } from '../api.js';
import { isTlsError, requestTo, type DaemonTls } from './tls-trust.js';

export type Probe = { kind: 'none' } | { kind: 'daemon'; health: Health } | { kind: 'foreign'; detail: string };

export async function probeHealth(origin: string, timeoutMs = 1500, tls?: DaemonTls): Promise<Probe> {
  try {
    const { status, text } = await get(`${origin}/api/health`, timeoutMs, tls);
    if (status !== 200) return { kind: 'foreign', detail: `HTTP ${status}` };
    const parsed = Health.safeParse(JSON.parse(text));
    return parsed.success ? { kind: 'daemon', health: parsed.data } : { kind: 'foreign', detail: 'not a dstack health answer' };
  } catch (e) {
    if (e instanceof SyntaxError) return { kind: 'foreign', detail: 'not JSON' };
    if (isTlsError(e)) return { kind: 'foreign', detail: `TLS: ${(e as { code: string }).code}` };
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

/** One GET on its own connection (closed after the answer); the deadline covers the headers and each pause in the body. */
function get(url: string, timeoutMs: number, tls: DaemonTls | undefined): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = requestTo(url, { agent: false, headers: { connection: 'close' } }, tls);
    req.setTimeout(timeoutMs, () => req.destroy(new Error('health check timed out')));
    req.on('error', reject);
    req.once('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.once('error', reject);
      res.once('aborted', () => reject(new Error('health check aborted')));
    });
    req.end();
  });
}
