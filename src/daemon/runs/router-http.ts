/**
 * JSON calls to a router replica's worker API and to a worker's `/server_info`, through the replica's origin (its
 * SSH tunnel's dispatcher on fleet hosts). Bounded as dstack bounds them (`router_worker_sync.py`): a 10 s limit
 * per call and a cap on each answer, so a stuck or hostile replica can neither hang the sync nor fill memory.
 */
import { request, type Dispatcher } from 'undici';

export const ROUTER_HTTP_TIMEOUT_MS = 10_000;
export const MAX_SERVER_INFO_BYTES = 256 * 1024;
export const MAX_WORKERS_BYTES = 2 * 1024 * 1024;
export const MAX_ACK_BYTES = 64 * 1024;

export interface JsonCall {
  origin: string;
  dispatcher: Dispatcher;
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  body?: unknown;
  /** Statuses that count as an answer; any other is an error that names it. */
  ok: readonly number[];
  maxBytes: number;
  timeoutMs?: number;
}

/** The parsed JSON answer; throws (with what failed) on a transport error, another status, an oversized or non-JSON body. */
export async function callJson(c: JsonCall): Promise<unknown> {
  const timeout = c.timeoutMs ?? ROUTER_HTTP_TIMEOUT_MS;
  const res = await request(`${c.origin}${c.path}`, {
    method: c.method,
    dispatcher: c.dispatcher,
    headersTimeout: timeout,
    bodyTimeout: timeout,
    ...(c.body === undefined ? {} : { body: JSON.stringify(c.body), headers: { 'content-type': 'application/json' } }),
  });
  const what = `${c.method} ${c.path}`;
  if (!c.ok.includes(res.statusCode)) {
    await res.body.dump().catch(() => undefined);
    throw new Error(`${what} answered ${res.statusCode}, expected ${c.ok.join(' or ')}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > c.maxBytes) {
      res.body.destroy();
      throw new Error(`${what}: the answer exceeds ${c.maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new Error(`${what}: the answer is not JSON`);
  }
}
