/**
 * The `data:` payloads of a server-sent event stream (WHATWG HTML §9.2.6), from raw body chunks. Multi-byte
 * characters split across chunks are decoded correctly; comments, `event:`, `id:` and `retry:` are ignored.
 */
export async function* sseData(body: AsyncIterable<Buffer | Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = '';
  let data: string[] = [];
  const line = (raw: string): string | undefined => {
    const l = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (l === '') {
      const event = data.length > 0 ? data.join('\n') : undefined;
      data = [];
      return event;
    }
    if (l.startsWith('data:')) data.push(l.charCodeAt(5) === 32 ? l.slice(6) : l.slice(5));
    return undefined;
  };
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n', start)) {
      const event = line(pending.slice(start, nl));
      start = nl + 1;
      if (event !== undefined) yield event;
    }
    pending = pending.slice(start);
  }
  pending += decoder.decode();
  if (pending !== '') line(pending);
  const last = line('');
  if (last !== undefined) yield last;
}
