/**
 * Serves one OpenAI chat/completions request from a `format: tgi` replica. Streaming prefetches the first
 * event before answering, so an upstream failure at the start is a real HTTP error the client can catch; a
 * failure later becomes an SSE error event. Every opened stream ends with `data: [DONE]`.
 */
import type { ServerResponse } from 'node:http';
import type { Forwarder, ModelEntry } from '../../contracts.js';
import { SseWriter, writeJson } from '../http-io.js';
import { ModelsApiError, toModelsApiError } from '../openai-errors.js';
import { completionId, toCompletion, type CompletionMeta } from './convert.js';
import { buildTgiCall, type TgiCall, type TgiKind } from './payload.js';
import { parseStreamEvent, TgiStreamConverter } from './stream-converter.js';
import { sseData } from './sse-parse.js';
import type { RenderChat } from './template.js';
import type { TgiGenerateResponse } from './tgi-types.js';
import { callTgi, readJson } from './upstream.js';

export interface TgiRequestContext {
  forward: Forwarder;
  entry: ModelEntry;
  kind: TgiKind;
  body: Record<string, unknown>;
  res: ServerResponse;
  signal: AbortSignal;
  render: RenderChat;
  clock: () => number;
  random: () => number;
}

export async function serveTgi(ctx: TgiRequestContext): Promise<void> {
  const call = buildTgiCall(ctx.kind, ctx.body, ctx.entry, ctx.render);
  const seed = typeof ctx.body.seed === 'number' ? ctx.body.seed : undefined;
  const meta: CompletionMeta = {
    kind: ctx.kind,
    id: completionId(ctx.kind, ctx.random),
    created: Math.floor(ctx.clock() / 1000),
    model: typeof ctx.body.model === 'string' ? ctx.body.model : ctx.entry.name,
    systemFingerprint: seed === undefined ? undefined : `fp_${seed}`,
  };
  if (call.stream) return streamTgi(ctx, call, meta);
  const upstream = await callTgi(ctx.forward, ctx.entry, call, ctx.signal);
  const answer = await readJson<TgiGenerateResponse>(upstream);
  const answerSeed = answer.details?.seed;
  if (meta.systemFingerprint === undefined && typeof answerSeed === 'number') meta.systemFingerprint = `fp_${answerSeed}`;
  writeJson(ctx.res, 200, toCompletion(meta, answer, call.stops));
}

async function streamTgi(ctx: TgiRequestContext, call: TgiCall, meta: CompletionMeta): Promise<void> {
  const upstream = await callTgi(ctx.forward, ctx.entry, call, ctx.signal);
  const events = sseData(upstream.body);
  const options = ctx.body.stream_options as { include_usage?: unknown } | undefined;
  const converter = new TgiStreamConverter(meta, call.stops, options?.include_usage === true);
  const sse = new SseWriter(ctx.res);
  let opened = false;
  try {
    for await (const data of events) {
      const chunks = converter.next(parseStreamEvent(data));
      if (!opened) {
        sse.open();
        opened = true;
      }
      for (const chunk of chunks) await sse.data(chunk);
      if (converter.done || ctx.signal.aborted) break;
    }
    if (!converter.done && !ctx.signal.aborted) {
      throw new ModelsApiError(502, 'The TGI stream ended before its last event', 'server_error', 'upstream_error');
    }
  } catch (err) {
    if (!opened) throw err;
    if (!ctx.signal.aborted) await sse.error(toModelsApiError(err));
  } finally {
    // Leaving the loop early returns the generator, which destroys the upstream body (stops generation).
    await events.return(undefined);
    upstream.body.destroy?.();
  }
  sse.done();
}
