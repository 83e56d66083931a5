import { describe, expect, it } from 'vitest';
import { parseSse } from '../../../src/core/client/sse.js';
import { parseSince } from '../../../src/core/client/since.js';

async function* chunks(...parts: string[]) {
  for (const p of parts) yield new TextEncoder().encode(p);
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('parseSse', () => {
  it('joins data lines, skips comments, and handles events split across chunks and CRLF', async () => {
    const events = await collect(parseSse(chunks(': hello\n\ndata: {"a"', ':1}\r', '\n\r\nevent: run\ndata: x\ndata: y\nid: 7\n\n', 'data: tail')));
    expect(events).toEqual([
      { event: 'message', data: '{"a":1}' },
      { event: 'run', data: 'x\ny', id: '7' },
    ]);
  });

  it('does not dispatch an event without data', async () => {
    expect(await collect(parseSse(chunks('event: ping\n\n')))).toEqual([]);
  });
});

describe('parseSince', () => {
  const now = Date.parse('2025-01-31T12:00:00Z');
  it('takes durations relative to now', () => {
    expect(parseSince('10m', now)).toBe(now / 1000 - 600);
    expect(parseSince('2h', now)).toBe(now / 1000 - 7200);
    expect(parseSince('1d', now)).toBe(now / 1000 - 86400);
  });
  it('takes RFC 3339 times', () => {
    expect(parseSince('2025-01-31T11:00:00Z', now)).toBe(now / 1000 - 3600);
    expect(parseSince('2025-01-31T13:00:00+02:00', now)).toBe(now / 1000 - 3600);
  });
  it('names the flag on garbage', () => {
    expect(() => parseSince('yesterday', now)).toThrow(/--since "yesterday"/);
  });
});
