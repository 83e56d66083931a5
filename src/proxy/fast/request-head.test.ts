import { describe, expect, it } from 'vitest';
import { readRequestHead } from './request-head.js';

const line = 'GET /proxy/services/main/svc/x?q=1 HTTP/1.1';
const head = (...fields: string[]): string => [line, ...fields].join('\r\n');

describe('readRequestHead', () => {
  it('reads a plain head: method, origin-form target, fields as written, the one Content-Length', () => {
    expect(readRequestHead(['POST /a/b?c=d HTTP/1.1', 'Host: h', 'Content-Length: 12', 'X-App: v'].join('\r\n'))).toEqual({
      method: 'POST',
      url: '/a/b?c=d',
      rawHeaders: ['Host', 'h', 'Content-Length', '12', 'X-App', 'v'],
      contentLength: 12,
    });
    expect(readRequestHead(head('Host: h'))?.contentLength).toBe(0);
    expect(readRequestHead(line)).toMatchObject({ method: 'GET', rawHeaders: [] });
  });

  it('trims SP/HTAB around values only, keeping latin1 octets (NBSP 0xA0 included) as they came', () => {
    const r = readRequestHead(head('X-A: \t\xa0caf\xe9\xa0 \t', 'X-B:v', 'X-Empty:  '));
    expect(r?.rawHeaders).toEqual(['X-A', '\xa0caf\xe9\xa0', 'X-B', 'v', 'X-Empty', '']);
  });

  it('accepts Connection: keep-alive and a Content-Length of 0', () => {
    expect(readRequestHead(head('Connection: keep-alive', 'Content-Length: 0'))).toMatchObject({ contentLength: 0 });
  });

  it.each([
    ['Transfer-Encoding', head('Transfer-Encoding: chunked')],
    ['transfer-encoding beside a length', head('content-length: 3', 'TRANSFER-ENCODING: identity')],
    ['two Content-Lengths', head('Content-Length: 3', 'Content-Length: 3')],
    ['two Content-Lengths, other case', head('content-length: 3', 'CONTENT-LENGTH: 4')],
    ['a listed length', head('Content-Length: 3, 3')],
    ['a signed length', head('Content-Length: +3')],
    ['a negative length', head('Content-Length: -1')],
    ['a length with a fraction', head('Content-Length: 3.0')],
    ['an empty length', head('Content-Length: ')],
    ['obs-fold', head('X-A: one', ' two')],
    ['obs-fold with HTAB', head('X-A: one', '\ttwo')],
    ['a bare LF between fields', `${line}\r\nX-A: 1\nX-B: 2`],
    ['a bare LF after the request line', `${line}\nX-A: 1`],
    ['a bare CR inside a value', head('X-A: 1\r2')],
    ['NUL in a value', head('X-A: a\x00b')],
    ['a CTL in a value', head('X-A: a\x01b')],
    ['DEL in a value', head('X-A: a\x7fb')],
    ['space before the colon', head('X-A : v')],
    ['an empty field name', head(': v')],
    ['HTTP/1.0', 'GET / HTTP/1.0\r\nHost: h'],
    ['HTTP/2.0', 'GET / HTTP/2.0'],
    ['absolute-form target', 'GET http://h/proxy/services/main/svc/ HTTP/1.1\r\nHost: h'],
    ['asterisk-form target', 'OPTIONS * HTTP/1.1'],
    ['authority-form target', 'CONNECT h:443 HTTP/1.1'],
    ['a space in the target', 'GET /a b HTTP/1.1'],
    ['two spaces after the method', 'GET  /a HTTP/1.1'],
    ['Upgrade', head('Connection: Upgrade', 'Upgrade: websocket')],
    ['Upgrade alone', head('upgrade: h2c')],
    ['Connection: upgrade alone', head('Connection: upgrade')],
    ['Expect', head('Expect: 100-continue')],
    ['Connection: close', head('Connection: close')],
    ['Connection: close in a list', head('Connection: keep-alive, Close')],
    ['X-Dstack-Relay', head('X-Dstack-Relay: key')],
    ['x-dstack-relay in lower case', head('x-dstack-relay: key')],
  ])('leaves %s to node:http', (_what, text) => {
    expect(readRequestHead(text)).toBeUndefined();
  });
});
