/**
 * TLS in front of the data plane: a `tls.Server` that does the handshakes and hands each decrypted socket to
 * `serve` (the http server's `accept`), so one handler serves the control API, the proxy, SSE and upgrades over
 * TLS exactly as over plain HTTP. It listens itself (one process) or takes sockets accepted on a listener shared
 * with proxy workers (`accept`), where every process terminates TLS with the same key and certificate.
 */
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer, type TLSSocket } from 'node:tls';

export interface TlsPem {
  cert: string | Buffer;
  key: string | Buffer;
}

export interface TlsFront {
  listen(port: number, host: string): Promise<{ port: number }>;
  /** A TCP connection accepted elsewhere: handshake here, then `serve`. */
  accept(socket: Socket): void;
  close(): Promise<void>;
}

export function createTlsFront(pem: TlsPem, serve: (socket: Duplex) => void): TlsFront {
  // TCP sockets under every TLS session: close() ends those still handshaking, which no http server knows yet.
  const sockets = new Set<Socket>();
  // HTTP/1.1 only: the handler is node:http's; a client offering h2 first must not pick it.
  const server = createServer({ cert: pem.cert, key: pem.key, ALPNProtocols: ['http/1.1'], handshakeTimeout: 30_000 }, (socket: TLSSocket) => serve(socket));
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // A client that speaks plain HTTP or fails the handshake is its own problem: never the daemon's crash.
  server.on('tlsClientError', (_e, socket) => socket.destroy());
  return {
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve({ port: (server.address() as AddressInfo).port });
        });
      }),
    accept: (socket) => server.emit('connection', socket),
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        if (!server.listening) return resolve();
        server.close(() => resolve());
      }),
  };
}
