/**
 * A worker's relay to the primary over the unix socket in the server dir: the control API (SSE included, bodies
 * streamed both ways), attach upgrades, and services the worker does not serve itself. Each relayed request or
 * upgrade gets its own socket, which opens with one line naming the client's address and waits for the primary's
 * one-byte answer before the HTTP bytes follow, so the primary sees the client as if it had accepted it (rate
 * limits by IP, X-Forwarded-For) without parsing anything out of the HTTP stream.
 */
import { request, type IncomingMessage, type RequestOptions, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** Opens a socket to the primary and introduces the client; `done` gets it once the primary answered. */
export function openRelay(socketPath: string, clientIp: string | undefined, done: (err: Error | null, socket?: Socket) => void): Socket {
  const socket = connect(socketPath);
  const fail = (e: Error): void => done(e);
  socket.once('error', fail);
  socket.write(`${(clientIp ?? '').replace(/[^0-9a-fA-F.:]/g, '')}\n`);
  // Nothing else arrives before the request is written, so the socket may keep flowing until its user listens.
  socket.once('data', () => {
    socket.off('error', fail);
    done(null, socket);
  });
  return socket;
}

export function relayRequest(socketPath: string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const up = request(
      {
        method: req.method,
        path: req.url,
        headers: req.headers,
        // No agent: ClientRequest then takes the socket from the callback, one socket per relayed request.
        createConnection: ((_opts: unknown, cb: (err: Error | null, socket: Duplex) => void) => {
          openRelay(socketPath, req.socket.remoteAddress, (err, socket) => cb(err, socket as Duplex));
          return undefined;
        }) as unknown as RequestOptions['createConnection'],
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        // SSE: every chunk goes out as it comes (pipe does not buffer beyond the socket's own high-water mark).
        res.flushHeaders();
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    up.on('error', () => {
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ detail: [{ msg: 'the dstack server is not answering', code: 'bad_gateway' }] }));
      } else res.destroy();
    });
    // The client went away: stop the primary's side too (SSE streams end this way).
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  };
}

export function relayUpgrade(socketPath: string) {
  return (req: IncomingMessage, client: Duplex, head: Buffer): void => {
    openRelay(socketPath, req.socket.remoteAddress, (err, up) => {
      if (err || !up) {
        client.destroy();
        return;
      }
      const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/${req.httpVersion}`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) up.write(head);
      up.pipe(client);
      client.pipe(up);
      up.on('error', () => client.destroy());
      client.on('error', () => up.destroy());
      up.on('close', () => client.destroy());
      client.on('close', () => up.destroy());
    });
  };
}

/**
 * The primary's side: reads the introduction line, marks the socket with the client's address and answers one
 * byte; `serve` then gets a socket that carries nothing but HTTP.
 */
export function acceptRelay(socket: Socket, serve: (socket: Socket) => void): void {
  let line = '';
  const onData = (chunk: Buffer): void => {
    line += chunk.toString('latin1');
    const nl = line.indexOf('\n');
    if (nl < 0) {
      if (line.length > 100) socket.destroy();
      return;
    }
    socket.off('data', onData);
    const ip = line.slice(0, nl);
    Object.defineProperty(socket, 'remoteAddress', { value: ip || undefined, configurable: true });
    serve(socket);
    socket.write('\n');
  };
  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
}
