import { describe, expect, it } from 'vitest';
import { DstackError } from '../errors.js';
import { decideExposure, isLoopbackHost } from './server-exposure.js';

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return e instanceof DstackError ? e.code : 'not a DstackError';
  }
  return undefined;
};

describe('isLoopbackHost', () => {
  it.each(['localhost', 'LOCALHOST', '127.0.0.1', '127.1.2.3', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'])('%s is loopback', (h) => {
    expect(isLoopbackHost(h)).toBe(true);
  });
  it.each(['0.0.0.0', '::', '', '192.168.1.10', '10.0.0.1', 'example.com', 'localhost.example.com', '::ffff:10.0.0.1', '128.0.0.1'])('%s is not', (h) => {
    expect(isLoopbackHost(h)).toBe(false);
  });
});

describe('decideExposure', () => {
  it('serves https when both files are given, on any host', () => {
    expect(decideExposure({ host: '0.0.0.0', cert: '/c.pem', key: '/k.pem', insecureHttp: false })).toEqual({ scheme: 'https', tls: { cert: '/c.pem', key: '/k.pem' } });
  });

  it('names the missing flag when only one file is given', () => {
    expect(() => decideExposure({ host: '127.0.0.1', cert: '/c.pem', insecureHttp: false })).toThrow(/--tls-key is missing/);
    expect(() => decideExposure({ host: '127.0.0.1', key: '/k.pem', insecureHttp: false })).toThrow(/--tls-cert is missing/);
  });

  it('refuses plain HTTP off loopback unless insecure HTTP was asked for', () => {
    expect(codeOf(() => decideExposure({ host: '0.0.0.0', insecureHttp: false }))).toBe('PLAIN_HTTP_OFF_LOOPBACK');
    expect(codeOf(() => decideExposure({ host: '::', insecureHttp: false }))).toBe('PLAIN_HTTP_OFF_LOOPBACK');
    expect(decideExposure({ host: '0.0.0.0', insecureHttp: true })).toEqual({ scheme: 'http', insecure: true });
  });

  it('serves plain HTTP on loopback without asking', () => {
    expect(decideExposure({ host: '127.0.0.1', insecureHttp: false })).toEqual({ scheme: 'http', insecure: false });
    expect(decideExposure({ host: 'localhost', insecureHttp: true })).toEqual({ scheme: 'http', insecure: false });
  });
});
