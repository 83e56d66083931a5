/**
 * The CLI end of an attach tunnel (src/core/api.ts): an HTTP/1.1 upgrade to `dstack-attach` on the daemon. A 101 hands
 * back the connection as a raw stream to the replica's port; any other answer is the daemon's `{code, message}` error,
 * rebuilt typed (undici's upgrade() drops such bodies, hence node:http here). Transport failures map as elsewhere.
 */
import type { Socket } from 'node:net';
import { ATTACH_PROTOCOL } from '../attach/api.js';
import { fromWire } from '../errors.js';
import { requestTo } from './tls-trust.js';
import { mapTransportError, type TransportOptions } from './transport.js';

export function openAttachTunnel(opts: TransportOptions, path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const req = requestTo(
      `${opts.origin}${path}`,
      {
        method: 'GET',
        // One connection per tunnel: an upgraded socket never goes back to a pool.
        agent: false,
        headers: { authorization: `Bearer ${opts.token}`, connection: 'Upgrade', upgrade: ATTACH_PROTOCOL },
      },
      opts.tls,
    );
    req.once('upgrade', (_res, socket, head) => {
      socket.setNoDelay(true);
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => reject(fromWire(parseJson(Buffer.concat(chunks).toString('utf8')), res.statusCode ?? 502)));
      res.once('error', (e) => reject(mapTransportError(e, opts, true)));
    });
    req.once('error', (e) => reject(mapTransportError(e, opts, false)));
    req.end();
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
