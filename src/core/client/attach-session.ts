/**
 * The forwarding half of `dstack attach`: one listener per port mapping on 127.0.0.1 only (never beyond this
 * machine), and per accepted connection one tunnel through the daemon. A tunnel that cannot open (nothing listens on
 * that port, the host is unreachable) is reported and that connection closed; the listeners stay. `close()` ends it
 * all: listeners, open connections and their tunnels.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { portInUseHint, type PortMapping } from '../attach/port-mapping.js';
import { splice } from '../attach/splice.js';
import { UserError } from '../errors.js';

export const ATTACH_BIND_HOST = '127.0.0.1';

export interface ForwardedPort {
  local: number;
  remote: number;
}

export interface AttachSessionOptions {
  /** Opens a tunnel to `remote` on the replica (DaemonClient.openAttach with the run and replica bound). */
  open: (remote: number) => Promise<Duplex>;
  mappings: readonly PortMapping[];
  onConnectionError: (port: ForwardedPort, error: unknown) => void;
}

export interface AttachSession {
  /** As bound: `local` is the real port for a `*:REMOTE` mapping. */
  ports: ForwardedPort[];
  close(): Promise<void>;
}

export async function startAttachSession(o: AttachSessionOptions): Promise<AttachSession> {
  const servers: Server[] = [];
  const streams = new Set<Duplex>();
  let closed = false;
  const track = (s: Duplex) => {
    streams.add(s);
    s.once('close', () => streams.delete(s));
  };
  const close = async () => {
    closed = true;
    for (const s of streams) s.destroy();
    await Promise.all(servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
  };
  const forward = (socket: Socket, port: ForwardedPort) => {
    track(socket);
    socket.on('error', () => socket.destroy());
    o.open(port.remote).then(
      (tunnel) => {
        track(tunnel);
        if (closed || socket.destroyed) return void tunnel.destroy();
        splice(socket, tunnel);
      },
      (e: unknown) => {
        socket.destroy();
        if (!closed) o.onConnectionError(port, e);
      },
    );
  };
  const ports: ForwardedPort[] = [];
  try {
    for (const m of o.mappings) {
      const port: ForwardedPort = { local: m.local, remote: m.remote };
      // Paused until the tunnel is open, so the first bytes wait in the socket instead of being lost.
      const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) => forward(socket, port));
      await listen(server, m);
      servers.push(server);
      port.local = (server.address() as AddressInfo).port;
      ports.push(port);
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { ports, close };
}

function listen(server: Server, m: PortMapping): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') {
        reject(new UserError('PORT_IN_USE', `Failed to attach: local port ${m.local} is already in use`, { hint: portInUseHint(m), cause: e }));
      } else if (e.code === 'EACCES') {
        reject(new UserError('PORT_NOT_PERMITTED', `Failed to attach: this user may not listen on local port ${m.local}`, { hint: portInUseHint(m), cause: e }));
      } else reject(e);
    });
    server.listen({ host: ATTACH_BIND_HOST, port: m.local, exclusive: true }, () => resolve());
  });
}
