import { describe, expect, it } from 'vitest';
import { responseHeaders, scanRequestHeaders } from './headers.js';

describe('scanRequestHeaders', () => {
  it('reads the fields it needs whatever their case, and forwards the rest as written', () => {
    const scan = scanRequestHeaders([
      'Host', 'a.example', 'AUTHORIZATION', 'Bearer t', 'X-Forwarded-For', '10.0.0.1', 'Content-Length', '3',
      'X-Forwarded-Proto', 'https', 'Expect', '100-continue', 'Keep-Alive', 'timeout=5', 'X-App', 'v',
    ]);
    expect(scan).toMatchObject({ host: 'a.example', authorization: 'Bearer t', forwardedFor: '10.0.0.1', hasBody: true });
    expect(scan.headers).toEqual(['Host', 'a.example', 'AUTHORIZATION', 'Bearer t', 'Content-Length', '3', 'X-App', 'v']);
    expect(scan.authorizationAt).toBe(2);
  });

  it('drops what Connection lists, Authorization included, but still sees a body in a listed Transfer-Encoding', () => {
    const scan = scanRequestHeaders([
      'Connection', 'Authorization, X-Hop, Transfer-Encoding', 'Authorization', 'Bearer t', 'x-hop', '1',
      'Transfer-Encoding', 'chunked', 'X-App', 'v',
    ]);
    expect(scan.authorization).toBeUndefined();
    expect(scan.hasBody).toBe(true);
    expect(scan.headers).toEqual(['X-App', 'v']);
  });

  it('flags a second Authorization field', () => {
    expect(scanRequestHeaders(['authorization', 'Bearer a', 'Authorization', 'Bearer b']).ambiguousAuthorization).toBe(true);
  });
});

describe('responseHeaders', () => {
  it('drops hop-by-hop fields and those Connection lists, keeping the rest as written', () => {
    const raw = ['Content-Type', 'text/plain', 'Connection', 'keep-alive, X-Up-Hop', 'Keep-Alive', 'timeout=5', 'X-Up-Hop', 's', 'Date', 'd']
      .map((s) => Buffer.from(s, 'latin1'));
    expect(responseHeaders(raw)).toEqual(['Content-Type', 'text/plain', 'Date', 'd']);
  });
});
