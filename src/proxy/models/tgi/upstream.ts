/** Calls a TGI replica and turns its error answers (`{"error", "error_type"}`) into OpenAI-shaped errors. */
import type { Forwarder, ModelEntry, UpstreamResponse } from '../../contracts.js';
import { ModelsApiError } from '../openai-errors.js';
import type { TgiCall } from './payload.js';

export async function callTgi(forward: Forwarder, entry: ModelEntry, call: TgiCall, signal: AbortSignal): Promise<UpstreamResponse> {
  const res = await forward(entry.project, entry.run, {
    method: 'POST',
    path: call.stream ? '/generate_stream' : '/generate',
    headers: { 'content-type': 'application/json', accept: call.stream ? 'text/event-stream' : 'application/json' },
    body: JSON.stringify({ inputs: call.inputs, parameters: call.parameters }),
    signal,
  });
  if (res.statusCode === 200) return res;
  const text = await readText(res);
  throw tgiError(res.statusCode, parseError(text));
}

/** TGI's error types (router/src/lib.rs ErrorResponse): validation 422, overloaded 429, generation 424. */
export function tgiError(status: number, body: { error?: unknown; error_type?: unknown }): ModelsApiError {
  const message = typeof body.error === 'string' ? body.error : `The TGI replica answered HTTP ${status}`;
  const errorType = typeof body.error_type === 'string' ? body.error_type : null;
  const httpStatus = errorType === 'validation' ? 400 : errorType === 'overloaded' ? 429 : status >= 400 ? status : 502;
  return new ModelsApiError(httpStatus, message, undefined, errorType ?? 'upstream_error');
}

async function readText(res: UpstreamResponse): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res.body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}

export async function readJson<T>(res: UpstreamResponse): Promise<T> {
  const text = await readText(res);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ModelsApiError(502, 'The TGI replica answered a body that is not JSON', 'server_error', 'upstream_error');
  }
}

function parseError(text: string): { error?: unknown; error_type?: unknown } {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null ? (v as { error?: unknown }) : {};
  } catch {
    return { error: text.slice(0, 500) || undefined };
  }
}
