/**
 * The playground's side of the model endpoint (`/proxy/models/<project>/v1/chat/completions`, OpenAI's wire
 * format): the request body, the streamed `chat.completion.chunk` events read as text deltas, and its errors
 * (`{error: {message}}`) as one readable line. Pure apart from the body stream, so it is unit-tested.
 */
import { parseSse } from '../core/client/sse.js';

export interface ChatMessage {
  role: 'user' | 'assistant' | 'system';
  content: string;
}

export const chatPath = (project: string) => `/proxy/models/${encodeURIComponent(project)}/v1/chat/completions`;
export const modelsPath = (project: string) => `/proxy/models/${encodeURIComponent(project)}/v1/models`;

export function chatBody(model: string, messages: readonly ChatMessage[]) {
  return { model, messages, stream: true };
}

export class ChatError extends Error {}

/** The text of each streamed chunk, in order, until `[DONE]` or the end of the stream. */
export async function* chatDeltas(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<string> {
  for await (const e of parseSse(chunks)) {
    if (e.data === '[DONE]') return;
    let value: { choices?: { delta?: { content?: string | null } }[]; error?: { message?: string } };
    try {
      value = JSON.parse(e.data) as typeof value;
    } catch {
      throw new ChatError(`the model sent something that is not JSON: ${e.data.slice(0, 120)}`);
    }
    // An error after the stream began comes as an event of its own (vLLM, TGI).
    if (value.error) throw new ChatError(value.error.message ?? 'the model reported an error');
    const text = value.choices?.[0]?.delta?.content;
    if (text) yield text;
  }
}

/** A failed answer as a line for the page: the endpoint's OpenAI-style message, or the HTTP status. */
export function describeFailure(status: number, body: string): string {
  let message: string | undefined;
  try {
    const parsed = JSON.parse(body) as { error?: { message?: string }; message?: string };
    message = parsed.error?.message ?? parsed.message;
  } catch {
    message = body.trim().slice(0, 300) || undefined;
  }
  return `The model endpoint answered ${status}${message ? `: ${message}` : ''}`;
}
