/**
 * The listener of a server on a shared database: opened before it knows whether it leads (the advertised URL needs
 * the bound port), it hands each connection (decrypted first when TLS is configured) to whichever handler is
 * current: the leader relay while standing by, the full data plane once it leads. A takeover swaps the handler on
 * the same port, so clients that knew this server keep their address.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createTlsFront, type TlsPem } from '../../proxy/http/tls-front.js';

export interface SwitchListener {
  port: number;
  /** Who gets the connections accepted from now on. */
  serve(handler: (socket: Duplex) => void): void;
  close(): Promise<void>;
}

export async function openSwitchListener(port: number, host: string, tls: TlsPem | undefined, first: (socket: Duplex) => void): Promise<SwitchListener> {
  let handler = first;
  const dispatch = (socket: Duplex) => handler(socket);
  if (tls) {
    const front = createTlsFront(tls, dispatch);
    const bound = await front.listen(port, host);
    return { port: bound.port, serve: (h) => void (handler = h), close: () => front.close() };
  }
  // An http server that never listened itself tracks no connections (closeAllConnections ends none of them), so
  // the sockets are ended here on close, as the TLS front does for its own.
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    dispatch(socket);
  });
  const bound = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
  return {
    port: bound,
    serve: (h) => void (handler = h),
    // Stops accepting and ends every connection at once (server.close's callback would wait for them).
    close: async () => {
      if (server.listening) server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}
