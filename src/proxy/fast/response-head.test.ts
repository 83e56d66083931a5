import { describe, expect, it } from 'vitest';
import { ChunkedScanner, Framing, readResponseHead } from './response-head.js';

const head = (status: string, ...fields: string[]): string => [status, ...fields].join('\r\n');

describe('readResponseHead', () => {
  it('relays a length-framed answer as HTTP/1.1 with end-to-end fields as written, reusable', () => {
    const r = readResponseHead(head('HTTP/1.1 200 OK', 'Content-Type: text/plain', 'Content-Length: 5', 'X-App: \xa0v'), 'GET');
    expect(r).toEqual({
      status: 200,
      interim: false,
      clientHead: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nX-App: \xa0v\r\n\r\n',
      framing: Framing.Length,
      length: 5,
      reusable: true,
      keepAliveMs: undefined,
    });
  });

  it('drops hop-by-hop fields and the fields Connection names, whether they come before or after it', () => {
    const r = readResponseHead(
      head(
        'HTTP/1.1 200 OK',
        'X-Before: 1',
        'Keep-Alive: timeout=5',
        'Proxy-Connection: keep-alive',
        'TE: trailers',
        'Trailer: X-T',
        'Upgrade: h2c',
        'Connection: keep-alive, X-Before, x-after',
        'X-After: 2',
        'X-Kept: 3',
        'Content-Length: 0',
      ),
      'GET',
    );
    expect(r?.clientHead).toBe('HTTP/1.1 200 OK\r\nX-Kept: 3\r\nContent-Length: 0\r\n\r\n');
    expect(r?.reusable).toBe(true);
  });

  it('reads the replica keep-alive timeout in ms', () => {
    expect(readResponseHead(head('HTTP/1.1 200 OK', 'Keep-Alive: timeout=5', 'Content-Length: 0'), 'GET')?.keepAliveMs).toBe(5000);
    expect(readResponseHead(head('HTTP/1.1 200 OK', 'keep-alive: max=9, TIMEOUT=12', 'Content-Length: 0'), 'GET')?.keepAliveMs).toBe(12_000);
  });

  it('lets Transfer-Encoding win over Content-Length: the length is dropped and the connection not reused', () => {
    const r = readResponseHead(head('HTTP/1.1 200 OK', 'Content-Length: 10', 'Transfer-Encoding: chunked', 'X-A: 1'), 'GET');
    expect(r).toMatchObject({ framing: Framing.Chunked, reusable: false });
    expect(r?.clientHead).toBe('HTTP/1.1 200 OK\r\nX-A: 1\r\ntransfer-encoding: chunked\r\n\r\n');
  });

  it('frames chunked answers as chunked and keeps the connection', () => {
    const r = readResponseHead(head('HTTP/1.1 200 OK', 'Transfer-Encoding: gzip, chunked'), 'POST');
    expect(r).toMatchObject({ framing: Framing.Chunked, reusable: true });
  });

  it('reads an answer with neither length nor chunked to the close, and says so to the client', () => {
    const r = readResponseHead(head('HTTP/1.1 200 OK', 'X-A: 1'), 'GET');
    expect(r).toMatchObject({ framing: Framing.Close, reusable: false });
    expect(r?.clientHead).toBe('HTTP/1.1 200 OK\r\nX-A: 1\r\nconnection: close\r\n\r\n');
    expect(readResponseHead(head('HTTP/1.1 200 OK', 'Transfer-Encoding: gzip'), 'GET')).toMatchObject({ framing: Framing.Close, reusable: false });
  });

  it('does not reuse an HTTP/1.0 connection without keep-alive, nor one the replica closes', () => {
    expect(readResponseHead(head('HTTP/1.0 200 OK', 'Content-Length: 0'), 'GET')?.reusable).toBe(false);
    expect(readResponseHead(head('HTTP/1.0 200 OK', 'Connection: keep-alive', 'Content-Length: 0'), 'GET')?.reusable).toBe(true);
    expect(readResponseHead(head('HTTP/1.1 200 OK', 'Connection: close', 'Content-Length: 0'), 'GET')?.reusable).toBe(false);
    expect(readResponseHead(head('HTTP/1.0 200 OK', 'Content-Length: 0'), 'GET')?.clientHead).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  });

  it('gives an empty or missing reason the standard one', () => {
    expect(readResponseHead(head('HTTP/1.1 404 ', 'Content-Length: 0'), 'GET')?.clientHead).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
    expect(readResponseHead(head('HTTP/1.1 201', 'Content-Length: 0'), 'GET')?.clientHead).toMatch(/^HTTP\/1\.1 201 Created\r\n/);
    expect(readResponseHead(head('HTTP/1.1 200 Fine By Me', 'Content-Length: 0'), 'GET')?.clientHead).toMatch(/^HTTP\/1\.1 200 Fine By Me\r\n/);
  });

  it('marks 1xx answers interim (not relayed) and refuses 101', () => {
    expect(readResponseHead(head('HTTP/1.1 103 Early Hints', 'Link: </a>; rel=preload'), 'GET')).toMatchObject({ status: 103, interim: true, clientHead: '' });
    expect(readResponseHead('HTTP/1.1 100 Continue', 'POST')).toMatchObject({ interim: true });
    expect(readResponseHead(head('HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade'), 'GET')).toBeUndefined();
  });

  it('gives HEAD, 204 and 304 answers no body whatever their fields say', () => {
    expect(readResponseHead(head('HTTP/1.1 200 OK', 'Content-Length: 99'), 'HEAD')).toMatchObject({ framing: Framing.None, reusable: true });
    expect(readResponseHead(head('HTTP/1.1 200 OK', 'Content-Length: 99'), 'HEAD')?.clientHead).toContain('Content-Length: 99\r\n');
    expect(readResponseHead(head('HTTP/1.1 204 No Content'), 'GET')).toMatchObject({ framing: Framing.None, reusable: true });
    expect(readResponseHead(head('HTTP/1.1 304 Not Modified', 'ETag: "e"'), 'GET')).toMatchObject({ framing: Framing.None, reusable: true });
    expect(readResponseHead(head('HTTP/1.1 304 Not Modified', 'Transfer-Encoding: chunked'), 'GET')?.framing).toBe(Framing.None);
  });

  it.each([
    ['two different lengths', head('HTTP/1.1 200 OK', 'Content-Length: 1', 'Content-Length: 2')],
    ['a listed length', head('HTTP/1.1 200 OK', 'Content-Length: 1, 1')],
    ['a signed length', head('HTTP/1.1 200 OK', 'Content-Length: +1')],
    ['a bare LF', 'HTTP/1.1 200 OK\nContent-Length: 0'],
    ['obs-fold', head('HTTP/1.1 200 OK', 'X-A: 1', ' 2')],
    ['NUL in a value', head('HTTP/1.1 200 OK', 'X-A: \x00')],
    ['HTTP/2', 'HTTP/2 200 OK'],
    ['a status below 100', 'HTTP/1.1 099 Odd'],
    ['a two-digit status', 'HTTP/1.1 20 OK'],
    ['garbage', 'hello'],
  ])('refuses %s (a 502)', (_what, text) => {
    expect(readResponseHead(text, 'GET')).toBeUndefined();
  });

  it('refuses a repeated Content-Length, even an identical one (a 502, as undici answers it on the node:http path)', () => {
    expect(readResponseHead(head('HTTP/1.1 200 OK', 'Content-Length: 3', 'content-length: 3'), 'GET')).toBeUndefined();
    expect(readResponseHead(head('HTTP/1.1 200 OK', 'Content-Length: 3', 'content-length: 4'), 'GET')).toBeUndefined();
  });

  it('refuses a Content-Length padded with latin1 NBSP (0xA0 is no OWS; the request side keeps it too)', () => {
    expect(readResponseHead(head('HTTP/1.1 200 OK', 'Content-Length: \xa05'), 'GET')).toBeUndefined();
  });
});

describe('ChunkedScanner', () => {
  const body = Buffer.from(
    '5;name=value;q="a b"\r\nhello\r\n' + '1A\r\n' + 'x'.repeat(26) + '\r\n' + '3 ; ext\r\n\r\n\r\r\n' + '0;last\r\nX-Trailer: 1\r\nX-Other: two\r\n\r\n',
    'latin1',
  );
  const tail = Buffer.from('GET / HTTP/1.1\r\n\r\n');
  const whole = Buffer.concat([body, tail]);

  /** Feeds `parts` in order and returns the offset in `whole` where the scanner says the body ends. */
  function endIn(parts: Buffer[]): number {
    const scanner = new ChunkedScanner();
    let offset = 0;
    for (const part of parts) {
      const end = scanner.scan(part, 0);
      if (end === -2) return -2;
      if (end >= 0) return offset + end;
      offset += part.length;
    }
    return -1;
  }

  it('finds the end of a body with extensions and trailers fed whole', () => {
    expect(endIn([whole])).toBe(body.length);
    expect(new ChunkedScanner().scan(whole, 0)).toBe(body.length);
  });

  it('scans from the given offset', () => {
    const prefixed = Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\n\r\n'), whole]);
    expect(new ChunkedScanner().scan(prefixed, 19)).toBe(19 + body.length);
  });

  it('finds the same end fed byte by byte', () => {
    const parts = [...whole].map((b) => Buffer.from([b]));
    expect(endIn(parts)).toBe(body.length);
  });

  it('finds the same end in random splits', () => {
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let round = 0; round < 200; round++) {
      const parts: Buffer[] = [];
      for (let at = 0; at < whole.length; ) {
        const len = 1 + rand(20);
        parts.push(whole.subarray(at, at + len));
        at += len;
      }
      expect(endIn(parts)).toBe(body.length);
    }
  });

  it('says -1 while the body goes on', () => {
    expect(endIn([body.subarray(0, body.length - 1)])).toBe(-1);
  });

  it('is reusable for the next body after an end', () => {
    const scanner = new ChunkedScanner();
    expect(scanner.scan(body, 0)).toBe(body.length);
    expect(scanner.scan(body, 0)).toBe(body.length);
  });

  it.each([
    ['no size', ';x\r\n'],
    ['a non-hex size', 'g\r\n'],
    ['a bare LF after the size', '5\nhello\r\n0\r\n\r\n'],
    ['a bare LF in an extension', '5;x\nhello\r\n'],
    ['a CR without LF after the size', '5\rxhello'],
    ['data longer than its size', '5\r\nhello!\r\n0\r\n\r\n'],
    ['data without CR LF after it', '5\r\nhelloX\n'],
    ['a bare LF ending the trailers', '0\r\n\n'],
    ['a bare LF in a trailer', '0\r\nX-T: 1\n\r\n'],
    ['a CR without LF at the end', '0\r\n\rx'],
    ['a size over 12 hex digits', '1000000000000\r\n'],
  ])('reports %s as a framing error (-2)', (_what, text) => {
    expect(new ChunkedScanner().scan(Buffer.from(text, 'latin1'), 0)).toBe(-2);
    expect(endIn([...Buffer.from(text, 'latin1')].map((b) => Buffer.from([b])))).toBe(-2);
  });
});
