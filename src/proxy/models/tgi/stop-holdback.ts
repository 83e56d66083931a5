/**
 * Streaming text with stop sequences removed, as OpenAI streams it. TGI stops right after the token that
 * completes a stop sequence, but that sequence may span several tokens ("</", "s>"), so text that could be the
 * start of a stop sequence is held back until the next token shows whether it was one.
 */
import { trimStop } from './convert.js';

export class StopHoldback {
  private held = '';

  constructor(private readonly stops: readonly string[]) {}

  /** Text that is safe to send now. */
  push(text: string): string {
    if (this.stops.length === 0) return text;
    const buf = this.held === '' ? text : this.held + text;
    const keep = heldSuffixLength(buf, this.stops);
    this.held = keep === 0 ? '' : buf.slice(buf.length - keep);
    return keep === 0 ? buf : buf.slice(0, buf.length - keep);
  }

  /** The rest, after the final token; a completed stop sequence at the end is dropped. */
  finish(text: string, stopped: boolean): string {
    const buf = this.held + text;
    this.held = '';
    return stopped ? trimStop(buf, this.stops) : buf;
  }
}

/** Longest proper prefix of any stop sequence that `buf` ends with. */
function heldSuffixLength(buf: string, stops: readonly string[]): number {
  let best = 0;
  for (const stop of stops) {
    for (let len = Math.min(stop.length - 1, buf.length); len > best; len--) {
      if (endsWithPrefix(buf, stop, len)) {
        best = len;
        break;
      }
    }
  }
  return best;
}

function endsWithPrefix(buf: string, stop: string, len: number): boolean {
  const start = buf.length - len;
  for (let i = 0; i < len; i++) if (buf.charCodeAt(start + i) !== stop.charCodeAt(i)) return false;
  return true;
}
