/**
 * TGI `/generate_stream` events → OpenAI chunks, one event at a time, with no I/O (so it is unit-tested and
 * benchmarked apart from HTTP). Token text goes out as soon as it cannot be part of a stop sequence; the final
 * event (the one with `details`) carries `finish_reason`, and usage follows when the client asked for it.
 */
import { mapFinishReason, toChunk, toUsageChunk, usageOf, type CompletionMeta } from './convert.js';
import { StopHoldback } from './stop-holdback.js';
import type { TgiStreamEvent } from './tgi-types.js';
import { tgiError } from './upstream.js';

export class TgiStreamConverter {
  private first = true;
  private finished = false;
  private readonly holdback: StopHoldback;

  constructor(
    private readonly meta: CompletionMeta,
    stops: readonly string[],
    private readonly includeUsage: boolean,
  ) {
    this.holdback = new StopHoldback(stops);
  }

  get done(): boolean {
    return this.finished;
  }

  /** The chunks to send for one event (often one, none while text is held back); throws on an error event. */
  next(event: TgiStreamEvent): object[] {
    if (event.error !== undefined) throw tgiError(500, event);
    const token = event.token;
    // Special tokens (`</s>`, `<|eot_id|>`) are never part of the text, as in TGI's own `generated_text`.
    const text = token && !token.special ? token.text : '';
    const details = event.details;
    if (details) {
      this.finished = true;
      const finish = mapFinishReason(details.finish_reason);
      const chunks: object[] = [toChunk(this.meta, this.holdback.finish(text, finish === 'stop'), this.first, finish)];
      if (this.includeUsage) chunks.push(toUsageChunk(this.meta, usageOf(details.input_length ?? 0, details.generated_tokens)));
      return chunks;
    }
    const out = this.holdback.push(text);
    if (out === '') return [];
    const chunk = toChunk(this.meta, out, this.first, null);
    this.first = false;
    return [chunk];
  }
}

export function parseStreamEvent(data: string): TgiStreamEvent {
  try {
    const v: unknown = JSON.parse(data);
    if (typeof v === 'object' && v !== null) return v as TgiStreamEvent;
  } catch {
    // fall through: a malformed event is the replica's fault, reported as one
  }
  return { error: 'The TGI replica sent a malformed stream event', error_type: 'upstream_error' };
}
