/**
 * Reads and inspects a request body only as far as routing needs (the `model`, whether it streams). The raw
 * bytes are kept so `format: openai` replicas get exactly what the client sent: dstack re-validated and
 * re-serialised bodies, which dropped or rejected `stream_options`, tool calls and multimodal content (#2230).
 */
import type { IncomingMessage } from 'node:http';
import { ModelsApiError, invalidRequest } from './openai-errors.js';

/** nginx's `client_max_body_size` in dstack's gateway; bounds memory per request. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

export interface ModelsRequestBody {
  raw: Buffer;
  json: Record<string, unknown>;
  model: string;
  stream: boolean;
}

export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new ModelsApiError(413, `Request body exceeds ${limit} bytes`, 'invalid_request_error');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

export function inspectBody(raw: Buffer): ModelsRequestBody {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw invalidRequest('The request body is not valid JSON', null, 'invalid_json');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw invalidRequest('The request body must be a JSON object', null, 'invalid_json');
  }
  const body = json as Record<string, unknown>;
  if (typeof body.model !== 'string' || body.model === '') {
    throw invalidRequest('You must provide a model parameter', 'model', 'missing_model');
  }
  return { raw, json: body, model: body.model, stream: body.stream === true };
}
