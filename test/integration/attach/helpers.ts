// Shared by the attach integration tests: the real daemon client over a daemon's URL and token, and one HTTP/1.1
// exchange over a raw stream (what a browser or curl sends through a forwarded port).
import type { Duplex } from 'node:stream';
import { request } from 'undici';
import { DaemonClient } from '../../../src/core/client/daemon-client.js';
import { Transport } from '../../../src/core/client/transport.js';

export function daemonClient(url: string, token: string): DaemonClient {
  return new DaemonClient(new Transport({ origin: url, token }), { version: 'test', pid: 0, uptimeSeconds: 0, home: '' });
}

/** `GET path` over `stream` with `Connection: close`; resolves with the status line and body once the server closes. */
export function httpOver(stream: Duplex, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let raw = '';
    stream.on('data', (d: Buffer) => (raw += d.toString('utf8')));
    stream.once('error', reject);
    stream.once('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
      resolve({ status, body: raw.slice(raw.indexOf('\r\n\r\n') + 4) });
    });
    stream.write(`GET ${path} HTTP/1.1\r\nhost: attach\r\nconnection: close\r\n\r\n`);
  });
}

/** A request to a forwarded local port, as a user's browser would make it. */
export async function getLocal(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await request(`http://127.0.0.1:${port}${path}`, { headersTimeout: 15_000, bodyTimeout: 15_000, reset: true });
  return { status: res.statusCode, body: await res.body.text() };
}
