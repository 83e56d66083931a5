/**
 * `format: openai`: the request goes to the replica at `prefix` byte for byte, and the answer comes back as it
 * streams, chunk by chunk, without parsing. A client that disconnects aborts the upstream request, so the
 * replica stops generating.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Forwarder, ModelEntry } from '../contracts.js';
import { requestHeadersForReplica, responseHeadersForClient } from './headers.js';
import { SSE_HEADERS, writeWithBackpressure } from './http-io.js';

export interface PassthroughContext {
  forward: Forwarder;
  entry: ModelEntry;
  req: IncomingMessage;
  res: ServerResponse;
  /** Below the prefix, e.g. `/chat/completions`, plus the query string. */
  subpath: string;
  body: Buffer;
  signal: AbortSignal;
}

export function replicaPath(prefix: string, subpath: string): string {
  const p = prefix.replace(/\/+$/, '');
  return `${p === '' || p.startsWith('/') ? p : `/${p}`}${subpath}`;
}

export async function serveOpenAI(ctx: PassthroughContext): Promise<void> {
  const upstream = await ctx.forward(ctx.entry.project, ctx.entry.run, {
    method: ctx.req.method ?? 'POST',
    path: replicaPath(ctx.entry.prefix, ctx.subpath),
    headers: requestHeadersForReplica(ctx.req.headers),
    body: ctx.body,
    signal: ctx.signal,
  });
  const headers = responseHeadersForClient(upstream.headers);
  const isStream = String(headers['content-type'] ?? '').startsWith('text/event-stream');
  if (isStream) headers['x-accel-buffering'] = SSE_HEADERS['x-accel-buffering'];
  ctx.res.writeHead(upstream.statusCode, headers);
  if (isStream) ctx.res.flushHeaders();
  try {
    for await (const chunk of upstream.body) {
      if (ctx.signal.aborted) break;
      await writeWithBackpressure(ctx.res, chunk);
    }
  } catch {
    // Headers are out: the only honest signal left is a broken response, so the client sees a truncated stream.
    ctx.res.destroy();
    return;
  } finally {
    upstream.body.destroy?.();
  }
  ctx.res.end();
}
