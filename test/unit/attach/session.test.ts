// The CLI's forwarding half against real loopback sockets: a TCP echo server stands in for the replica port and
// `open` connects to it as the daemon's tunnel would hand over a stream.
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { startAttachSession, type AttachSession } from '../../../src/core/client/attach-session.js';
import { UserError } from '../../../src/core/errors.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function echoServer(): Promise<{ port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }));
  return { port: (server.address() as AddressInfo).port, sockets };
}

async function session(o: Parameters<typeof startAttachSession>[0]): Promise<AttachSession> {
  const s = await startAttachSession(o);
  cleanups.push(() => s.close());
  return s;
}

function exchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let got = '';
    socket.on('data', (d) => {
      got += d.toString();
      if (got.length >= text.length) socket.end();
    });
    socket.on('close', () => resolve(got));
    socket.on('error', reject);
    socket.write(text);
  });
}

const connectTo = (port: number) =>
  new Promise<Socket>((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.on('error', reject);
  });

const refused = (port: number, host = '127.0.0.1') =>
  new Promise<string>((resolve) => {
    const s = connect({ host, port });
    s.on('connect', () => (s.destroy(), resolve('connected')));
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });

describe('attach session', () => {
  it('forwards bytes both ways through a listener on 127.0.0.1, and *:REMOTE gets a free port', async () => {
    const echo = await echoServer();
    const s = await session({ open: async () => connectTo(echo.port), mappings: [{ local: 0, remote: 8000 }], onConnectionError: () => undefined });
    expect(s.ports).toEqual([{ local: expect.any(Number), remote: 8000 }]);
    expect(s.ports[0]!.local).toBeGreaterThan(0);
    expect(await exchange(s.ports[0]!.local, 'hello through the tunnel')).toBe('hello through the tunnel');
    // Loopback only: this machine's other addresses refuse the port.
    const external = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal);
    if (external) expect(await refused(s.ports[0]!.local, external.address)).toBe('ECONNREFUSED');
  });

  it('a tunnel that cannot open closes that connection and is reported; the listener keeps serving', async () => {
    const echo = await echoServer();
    const errors: string[] = [];
    let fail = true;
    const s = await session({
      open: async (remote) => {
        if (fail) throw new UserError('PORT_NOT_LISTENING', `Nothing listens on port ${remote}`, { status: 502 });
        return connectTo(echo.port);
      },
      mappings: [{ local: 0, remote: 9000 }],
      onConnectionError: (port, e) => errors.push(`${port.remote}: ${(e as Error).message}`),
    });
    expect(await exchange(s.ports[0]!.local, 'x')).toBe('');
    expect(errors).toEqual(['9000: Nothing listens on port 9000']);
    fail = false;
    expect(await exchange(s.ports[0]!.local, 'again')).toBe('again');
  });

  it('a taken local port fails with the -p that moves it, and nothing stays bound', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => taken.close(() => r())));
    const busy = (taken.address() as AddressInfo).port;
    const err = await startAttachSession({
      open: async () => { throw new Error('unused'); },
      mappings: [{ local: 0, remote: 7000 }, { local: busy, remote: 8000 }],
      onConnectionError: () => undefined,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PORT_IN_USE', message: `Failed to attach: local port ${busy} is already in use`, hint: expect.stringContaining(`-p ${busy + 1}:8000`) });
  });

  it('close() frees the local ports and ends open connections and their tunnels', async () => {
    const echo = await echoServer();
    const s = await startAttachSession({ open: async () => connectTo(echo.port), mappings: [{ local: 0, remote: 8000 }], onConnectionError: () => undefined });
    const local = s.ports[0]!.local;
    const client = await connectTo(local);
    const closed = new Promise<void>((r) => client.on('close', () => r()));
    client.write('ping');
    await new Promise<void>((r) => client.once('data', () => r()));
    expect(echo.sockets.size).toBe(1);
    await s.close();
    await closed;
    expect(await refused(local)).toBe('ECONNREFUSED');
    await new Promise((r) => setImmediate(r));
    await expect.poll(() => echo.sockets.size).toBe(0);
  });
});
