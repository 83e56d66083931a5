/**
 * TGI answers → OpenAI chat/completions objects and chunks (dstack-notes §4.4): one id and `created` per
 * completion, `finish_reason` mapped, stop sequences trimmed, usage from TGI's token counts.
 */
import { ModelsApiError } from '../openai-errors.js';
import type { TgiKind } from './payload.js';
import type { TgiFinishReason, TgiGenerateResponse } from './tgi-types.js';

export type OpenAIFinishReason = 'stop' | 'length';

export interface CompletionMeta {
  kind: TgiKind;
  id: string;
  /** Unix seconds. */
  created: number;
  model: string;
  systemFingerprint?: string | undefined;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function mapFinishReason(reason: TgiFinishReason): OpenAIFinishReason {
  if (reason === 'length') return 'length';
  if (reason === 'eos_token' || reason === 'stop_sequence') return 'stop';
  throw new ModelsApiError(502, `TGI answered an unknown finish_reason: ${reason}`, 'server_error', 'upstream_error');
}

/** OpenAI never returns the stop sequence itself; TGI leaves it at the end of `generated_text`. */
export function trimStop(text: string, stops: readonly string[]): string {
  let cut = 0;
  for (const s of stops) if (s.length > cut && text.endsWith(s)) cut = s.length;
  return cut === 0 ? text : text.slice(0, text.length - cut);
}

export function completionId(kind: TgiKind, random: () => number): string {
  let hex = '';
  for (let i = 0; i < 24; i++) hex += Math.floor(random() * 16).toString(16);
  return `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${hex}`;
}

export const usageOf = (prompt: number, completion: number): Usage => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
});

function header(meta: CompletionMeta, object: string) {
  return {
    id: meta.id,
    object,
    created: meta.created,
    model: meta.model,
    ...(meta.systemFingerprint === undefined ? {} : { system_fingerprint: meta.systemFingerprint }),
  };
}

/** Choice 0 is `generated_text`; `n > 1` adds TGI's `best_of_sequences` (the adapter maps `n` to `best_of`). */
export function toCompletion(meta: CompletionMeta, r: TgiGenerateResponse, stops: readonly string[]) {
  const d = r.details;
  const sequences = [
    { text: r.generated_text, finish: d?.finish_reason ?? 'length', tokens: d?.generated_tokens ?? 0 },
    ...(d?.best_of_sequences ?? []).map((s) => ({ text: s.generated_text, finish: s.finish_reason, tokens: s.generated_tokens })),
  ];
  const choices = sequences.map((s, index) => {
    const finish_reason = mapFinishReason(s.finish);
    const text = finish_reason === 'stop' ? trimStop(s.text, stops) : s.text;
    return meta.kind === 'chat'
      ? { index, message: { role: 'assistant', content: text }, logprobs: null, finish_reason }
      : { index, text, logprobs: null, finish_reason };
  });
  const completionTokens = sequences.reduce((sum, s) => sum + s.tokens, 0);
  return {
    ...header(meta, meta.kind === 'chat' ? 'chat.completion' : 'text_completion'),
    choices,
    usage: usageOf(d?.prefill?.length ?? 0, completionTokens),
  };
}

/** One streamed chunk; `role` goes in the first chat delta only, as OpenAI sends it. */
export function toChunk(meta: CompletionMeta, text: string, first: boolean, finish: OpenAIFinishReason | null) {
  if (meta.kind === 'chat') {
    const delta = first ? { role: 'assistant', content: text } : { content: text };
    return { ...header(meta, 'chat.completion.chunk'), choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] };
  }
  return { ...header(meta, 'text_completion'), choices: [{ index: 0, text, logprobs: null, finish_reason: finish }] };
}

/** The extra last chunk of `stream_options: {include_usage: true}`: no choices, only usage. */
export function toUsageChunk(meta: CompletionMeta, usage: Usage) {
  return { ...header(meta, meta.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion'), choices: [], usage };
}
