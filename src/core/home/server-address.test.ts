import { describe, expect, it } from 'vitest';
import { isDstackError } from '../errors.js';
import { daemonUrl, serverPortFromEnv } from './server-address.js';

describe('daemonUrl', () => {
  it.each([
    ['127.0.0.1', 'http://127.0.0.1:3000'],
    ['0.0.0.0', 'http://127.0.0.1:3000'],
    ['', 'http://127.0.0.1:3000'],
    ['::', 'http://[::1]:3000'],
    ['::1', 'http://[::1]:3000'],
    ['[::1]', 'http://[::1]:3000'],
    ['fd00::5', 'http://[fd00::5]:3000'],
    ['gpu-box.internal', 'http://gpu-box.internal:3000'],
  ])('connects to a daemon listening on %j at %s', (host, url) => {
    expect(daemonUrl(host, 3000)).toBe(url);
    expect(new URL(url).port).toBe('3000');
  });
});

describe('serverPortFromEnv', () => {
  it('is undefined when DSTACK_SERVER_PORT is unset or empty', () => {
    expect(serverPortFromEnv({})).toBeUndefined();
    expect(serverPortFromEnv({ DSTACK_SERVER_PORT: '' })).toBeUndefined();
  });

  it('reads 0..65535 (0 asks the daemon for a free port)', () => {
    expect(serverPortFromEnv({ DSTACK_SERVER_PORT: '3001' })).toBe(3001);
    expect(serverPortFromEnv({ DSTACK_SERVER_PORT: '0' })).toBe(0);
    expect(serverPortFromEnv({ DSTACK_SERVER_PORT: '65535' })).toBe(65535);
  });

  it.each(['abc', '30x', '3.5', '-1', '65536', '1e3', '0x10'])('refuses %j with INVALID_ENV naming the variable', (raw) => {
    let err: unknown;
    try {
      serverPortFromEnv({ DSTACK_SERVER_PORT: raw });
    } catch (e) {
      err = e;
    }
    expect(isDstackError(err) && err.code).toBe('INVALID_ENV');
    expect((err as Error).message).toBe(`DSTACK_SERVER_PORT=${JSON.stringify(raw)} is not a port number`);
  });
});
