/**
 * The fast path's reading of a client's request head (issue 15: node:http's per-request objects cost more than the
 * rest of the proxy). It accepts only the plain shape of an HTTP/1.1 request: a strict grammar (RFC 9112 §3, §5:
 * token method, origin-form target of visible ASCII, `name: value` fields of token names and values without
 * control characters, no obs-fold), at most one Content-Length of digits, and none of the fields that change how
 * the connection or the body is read (Transfer-Encoding, Upgrade, Expect, `Connection: close`, the HA relay key).
 * Anything else is `undefined`, and the connection goes to node:http unread (see front.ts): the fast path never
 * answers a request it did not fully understand, so it adds no parsing differential for smuggling to exploit.
 */

/** Request line and fields; CR LF only between lines (the caller cut the head before its empty line). */
const HEAD =
  /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ \/[!-~]* HTTP\/1\.1(?:\r\n[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t\x20-\x7e\x80-\xff]*)*$/;

export interface RequestHead {
  method: string;
  /** The request target as written (origin-form). */
  url: string;
  /** `[name, value, …]` as node:http's rawHeaders: names as written, values without surrounding SP/HTAB. */
  rawHeaders: string[];
  /** Body bytes that follow the head (0: none). */
  contentLength: number;
}

const isOws = (c: number): boolean => c === 0x20 || c === 0x09;

/** Field values lose leading and trailing SP/HTAB only (String#trim would also strip latin1's NBSP, an octet of the value). */
export function fieldValue(line: string, from: number): string {
  let start = from;
  let end = line.length;
  while (start < end && isOws(line.charCodeAt(start))) start++;
  while (end > start && isOws(line.charCodeAt(end - 1))) end--;
  return line.slice(start, end);
}

/** Lengths of the field names this reader looks at: any other name needs no lower-casing. */
const REFUSED = new Set(['transfer-encoding', 'upgrade', 'expect', 'x-dstack-relay']);
const WATCHED_LENGTHS = new Uint8Array(32);
for (const n of [...REFUSED, 'content-length', 'connection']) WATCHED_LENGTHS[n.length] = 1;

/** `head`: the request head as latin1 text without its final CR LF CR LF. */
export function readRequestHead(head: string): RequestHead | undefined {
  if (!HEAD.test(head)) return undefined;
  const sp1 = head.indexOf(' ');
  const sp2 = head.indexOf(' ', sp1 + 1);
  const rawHeaders: string[] = [];
  let contentLength = -1;
  let at = head.indexOf('\r\n', sp2);
  while (at >= 0) {
    const next = head.indexOf('\r\n', at + 2);
    const line = next < 0 ? head.slice(at + 2) : head.slice(at + 2, next);
    at = next;
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    const value = fieldValue(line, colon + 1);
    if (name.length < 32 && WATCHED_LENGTHS[name.length] === 1) {
      const lower = name.toLowerCase();
      if (REFUSED.has(lower)) return undefined;
      if (lower === 'content-length') {
        // One decimal length (RFC 9112 §6.3): repeated, listed or signed lengths are left to node:http's checks.
        if (contentLength >= 0 || !/^\d{1,15}$/.test(value)) return undefined;
        contentLength = Number(value);
      } else if (lower === 'connection' && /close|upgrade/i.test(value)) {
        return undefined;
      }
    }
    rawHeaders.push(name, value);
  }
  return { method: head.slice(0, sp1), url: head.slice(sp1 + 1, sp2), rawHeaders, contentLength: Math.max(contentLength, 0) };
}
