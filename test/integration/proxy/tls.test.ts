/**
 * The data plane over TLS (issue 17): the TLS front hands decrypted sockets to the same http server, so proxied
 * requests, streamed bodies and WebSockets behave as over plain HTTP; a client trusts exactly the daemon's
 * certificate file, and verification stays on for everything else. Failed logins are limited per address.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import { pinnedTrust, type DaemonTls } from '../../../src/core/client/tls-trust.js';
import { createProxyServer } from '../../../src/proxy/http/server.js';
import { createTlsFront } from '../../../src/proxy/http/tls-front.js';
import { MemoryRouteTable } from '../../../src/proxy/routing/route-table.js';
import { makeCert, type TestCert } from '../../helpers/tls-cert.js';
import { auth, deferred, echoHandler, harness, route, startProxy, startUpstream, TOKEN } from './helpers.js';

const defer = harness();
let dir: string;
let pem: TestCert;
let other: TestCert;
let trust: DaemonTls;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dstack-tls-'));
  pem = await makeCert(dir);
  other = await makeCert(dir, 'other');
  trust = await pinnedTrust(pem.cert);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function tlsProxy() {
  const routes = new MemoryRouteTable();
  const proxy = createProxyServer({ routes, authenticate: (project, token) => (project === 'main' && token === TOKEN ? 'ok' : 'unknown') });
  const front = createTlsFront({ cert: await readFile(pem.cert), key: await readFile(pem.key) }, (socket) => proxy.accept(socket));
  const { port } = await front.listen(0, '127.0.0.1');
  defer(async () => {
    await front.close();
    await proxy.close();
    await routes.close();
  });
  return { port, routes, base: `https://127.0.0.1:${port}` };
}

function agent(tls: DaemonTls, localAddress?: string): Agent {
  // undici takes the source address at the top level, not under `connect`.
  const a = new Agent({ connect: { ...tls }, ...(localAddress ? { localAddress } : {}) });
  defer(() => a.close());
  return a;
}

describe('serving over TLS', () => {
  it('proxies a request to the replica, which sees x-forwarded-proto https', async () => {
    const up = await startUpstream(echoHandler('A'), defer);
    const { base, routes } = await tlsProxy();
    routes.set(route({ replicas: [{ id: 'a', origin: up.origin }] }));
    const res = await request(`${base}/proxy/services/main/svc/hello`, { dispatcher: agent(trust), headers: auth });
    expect(res.statusCode).toBe(200);
    const seen = (await res.body.json()) as { url: string; headers: Record<string, string> };
    expect(seen.url).toBe('/hello');
    expect(seen.headers['x-forwarded-proto']).toBe('https');
  });

  it('streams a body chunk by chunk: the first arrives while the replica still holds the rest', async () => {
    const more = deferred();
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      void more.promise.then(() => res.end('data: two\n\n'));
    }, defer);
    const { base, routes } = await tlsProxy();
    routes.set(route({ replicas: [{ id: 'a', origin: up.origin }] }));
    const res = await request(`${base}/proxy/services/main/svc/events`, { dispatcher: agent(trust), headers: auth });
    const chunks: string[] = [];
    for await (const chunk of res.body) {
      chunks.push(Buffer.from(chunk as Uint8Array).toString());
      if (chunks.length === 1) more.resolve();
    }
    expect(chunks[0]).toBe('data: one\n\n');
    expect(chunks.join('')).toBe('data: one\n\ndata: two\n\n');
  });

  it('carries WebSockets (wss) to the replica and back', async () => {
    const up = await startUpstream(echoHandler('A'), defer);
    const wss = new WebSocketServer({ server: up.server });
    wss.on('connection', (socket) => socket.on('message', (m) => socket.send(`echo:${m.toString()}`)));
    defer(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    const { port, routes } = await tlsProxy();
    routes.set(route({ replicas: [{ id: 'a', origin: up.origin }] }));
    const ws = new WebSocket(`wss://127.0.0.1:${port}/proxy/services/main/svc/ws`, { headers: auth, ...trust });
    defer(() => ws.terminate());
    const answer = new Promise<string>((resolve, reject) => {
      ws.once('message', (m: Buffer) => resolve(m.toString()));
      ws.once('error', reject);
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send('ping');
    expect(await answer).toBe('echo:ping');
  });

  it('is refused by a client that does not trust the certificate (verification stays on)', async () => {
    const { base } = await tlsProxy();
    await expect(request(`${base}/proxy/services/main/svc/x`, { dispatcher: agent({}) })).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    const wrong = await pinnedTrust(other.cert);
    await expect(request(`${base}/proxy/services/main/svc/x`, { dispatcher: agent(wrong) })).rejects.toHaveProperty('code');
  });

  it('drops a client speaking plain HTTP to the TLS port without answering it', async () => {
    const { port } = await tlsProxy();
    await expect(request(`http://127.0.0.1:${port}/proxy/services/main/svc/x`)).rejects.toHaveProperty('code');
  });
});

describe('failed logins', () => {
  it('answers 429 with Retry-After to an address after repeated wrong tokens, and serves other addresses and the same one after the window', async () => {
    let now = 1_000_000;
    const up = await startUpstream(echoHandler('A'), defer);
    const proxy = await startProxy(defer, { loginLimits: { maxFailures: 3, windowMs: 60_000 }, clock: () => now });
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }] }));
    const url = `${proxy.base}/proxy/services/main/svc/x`;
    const fromA = agent({}, '127.0.0.1');
    const fromB = agent({}, '127.0.0.2');
    const status = async (dispatcher: Agent, token: string) => {
      const res = await request(url, { dispatcher, headers: { authorization: `Bearer ${token}` } });
      await res.body.dump();
      return { status: res.statusCode, retryAfter: res.headers['retry-after'] };
    };
    // A good token before any failure is served as always.
    expect((await status(fromA, TOKEN)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await status(fromA, `wrong-${i}`)).status).toBe(403);
    // Even the right token: answering it would tell a guesser which guess was right.
    expect(await status(fromA, TOKEN)).toEqual({ status: 429, retryAfter: '60' });
    expect((await status(fromB, TOKEN)).status).toBe(200);
    now += 60_000;
    expect((await status(fromA, TOKEN)).status).toBe(200);
  });

  it('refuses a WebSocket upgrade from a blocked address with 429', async () => {
    const up = await startUpstream(echoHandler('A'), defer);
    const proxy = await startProxy(defer, { loginLimits: { maxFailures: 1, windowMs: 60_000 } });
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }] }));
    const res = await request(`${proxy.base}/proxy/services/main/svc/x`, { headers: { authorization: 'Bearer wrong' } });
    await res.body.dump();
    expect(res.statusCode).toBe(403);
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/proxy/services/main/svc/ws`, { headers: auth });
    ws.on('error', () => undefined);
    const status = await new Promise<number | undefined>((resolve) => ws.once('unexpected-response', (_req, r) => resolve(r.statusCode)));
    expect(status).toBe(429);
  });
});
