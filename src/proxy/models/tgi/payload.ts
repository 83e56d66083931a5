/**
 * OpenAI request → TGI `/generate` payload (dstack-notes §4.4), for chat (prompt rendered by the chat template)
 * and plain completions (prompt as given). Fields TGI has no equivalent for are ignored, not rejected.
 */
import type { ModelEntry } from '../../contracts.js';
import { ModelsApiError, invalidRequest } from '../openai-errors.js';
import type { RenderChat } from './template.js';

export interface TgiCall {
  inputs: string;
  parameters: Record<string, unknown>;
  /** Stop sequences, `eos_token` included: trimmed from the end of the generated text. */
  stops: string[];
  /** Choices requested (`n`); TGI produces them through `best_of`. */
  n: number;
  stream: boolean;
}

export type TgiKind = 'chat' | 'completions';

export function buildTgiCall(kind: TgiKind, body: Record<string, unknown>, entry: ModelEntry, render: RenderChat): TgiCall {
  const stream = body.stream === true;
  const n = intParam(body.n, 'n', 1);
  if (n < 1) throw invalidRequest('n must be at least 1', 'n');
  if (stream && n > 1) throw invalidRequest(`n > 1 is not supported with stream for model ${entry.name} (format: tgi)`, 'n');
  const inputs = kind === 'chat' ? chatPrompt(body, entry, render) : completionPrompt(body.prompt);
  const stops = stopList(body.stop, entry.eosToken);
  const parameters: Record<string, unknown> = { details: true, decoder_input_details: !stream, stop: stops };
  const maxTokens = body.max_tokens ?? body.max_completion_tokens;
  if (maxTokens !== undefined && maxTokens !== null) parameters.max_new_tokens = intParam(maxTokens, 'max_tokens', 0);
  // TGI rejects temperature 0; OpenAI clients send it to mean greedy decoding.
  if (body.temperature === 0) parameters.do_sample = false;
  else {
    parameters.do_sample = true;
    if (typeof body.temperature === 'number') parameters.temperature = body.temperature;
  }
  if (typeof body.top_p === 'number' && body.top_p > 0 && body.top_p < 1) parameters.top_p = body.top_p;
  if (typeof body.seed === 'number') parameters.seed = body.seed;
  if (typeof body.frequency_penalty === 'number' && body.frequency_penalty !== 0) parameters.frequency_penalty = body.frequency_penalty;
  if (n > 1) parameters.best_of = n;
  return { inputs, parameters, stops, n, stream };
}

function chatPrompt(body: Record<string, unknown>, entry: ModelEntry, render: RenderChat): string {
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    throw invalidRequest('messages must be a non-empty array', 'messages');
  }
  if (entry.chatTemplate === undefined) {
    throw new ModelsApiError(500, `Model ${entry.name} (format: tgi) has no chat_template; set chat_template and eos_token under model: in the service configuration`, 'server_error', 'tgi_template_unavailable');
  }
  return render(entry.chatTemplate, { messages: body.messages, bosToken: entry.bosToken, eosToken: entry.eosToken, tools: body.tools });
}

function completionPrompt(prompt: unknown): string {
  if (typeof prompt === 'string') return prompt;
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string') return prompt[0];
  throw invalidRequest('prompt must be a string (token arrays and batches are not supported for format: tgi)', 'prompt');
}

export function stopList(stop: unknown, eosToken: string | undefined): string[] {
  const list = typeof stop === 'string' ? (stop === '' ? [] : [stop]) : Array.isArray(stop) ? stop.filter((s): s is string => typeof s === 'string' && s !== '') : [];
  if (eosToken && !list.includes(eosToken)) list.push(eosToken);
  return list;
}

function intParam(value: unknown, param: string, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidRequest(`${param} must be an integer`, param);
  return value;
}
