/**
 * A standby server's relay to the leader (issue 17, HA) with real HTTP servers on loopback: headers and bodies pass
 * (Authorization kept, X-Forwarded-For/-Proto added), SSE chunks arrive as sent, upgrades are piped both ways,
 * health is answered locally, a request is held while the leader's address refuses and answered once it listens,
 * and 503 NO_LEADER after the hold when no leader is known. Over TLS: the standby terminates TLS itself and trusts
 * its own certificate (servers of one database share it) when relaying to an https leader. With the lease's relay key,
 * the leader's real proxy counts failed logins per client of the standby and hands replicas the client's address;
 * a forged key is dropped and trusts nothing.
 */
import { execa } from 'execa';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { openSwitchListener, type SwitchListener } from '../../../src/daemon/ha/listener.js';
import { createLeaderRelay, type LeaderRelay } from '../../../src/daemon/ha/relay.js';
import { createProxyServer } from '../../../src/proxy/http/server.js';
import { MemoryRouteTable } from '../../../src/proxy/routing/route-table.js';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function leaderServer(port = 0): Promise<{ server: Server; url: string; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    if (req.url === '/sse') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      setTimeout(() => res.end('data: two\n\n'), 300);
      return;
    }
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ body, url: req.url })));
  });
  server.on('upgrade', (_req, socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: upgrade\r\n\r\n');
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  open.push({ close: () => new Promise((r) => (server.closeAllConnections(), server.close(r))) });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

async function standby(leader: () => string | undefined, holdMs?: number, relayKey?: () => string | undefined): Promise<{ url: string; relay: LeaderRelay; listener: SwitchListener }> {
  const relay = createLeaderRelay({
    leader,
    ...(relayKey ? { relayKey } : {}),
    scheme: 'http',
    health: () => ({ version: 't', pid: process.pid, uptimeSeconds: 0, home: '/standby', role: 'standby', ...(leader() ? { leader: leader()! } : {}) }),
    ...(holdMs !== undefined ? { holdMs } : {}),
  });
  const listener = await openSwitchListener(0, '127.0.0.1', undefined, (s) => relay.accept(s));
  open.push({ close: () => relay.close(true) }, listener);
  return { url: `http://127.0.0.1:${listener.port}`, relay, listener };
}

describe('the standby relay', () => {
  it('relays method, path, body and Authorization, adds X-Forwarded-*, and answers health itself', async () => {
    const leader = await leaderServer();
    const s = await standby(() => leader.url);
    const res = await fetch(`${s.url}/api/runs/apply?x=1`, { method: 'POST', headers: { authorization: 'Bearer t0k' }, body: 'hello' });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ body: 'hello', url: '/api/runs/apply?x=1' });
    expect(leader.seen[0]!.headers).toMatchObject({ authorization: 'Bearer t0k', 'x-forwarded-for': '127.0.0.1', 'x-forwarded-proto': 'http' });
    const health = await (await fetch(`${s.url}/api/health`)).json();
    expect(health).toMatchObject({ role: 'standby', leader: leader.url, home: '/standby' });
    expect(leader.seen).toHaveLength(1);
  });

  it('passes SSE chunks as they come', async () => {
    const leader = await leaderServer();
    const s = await standby(() => leader.url);
    const res = await fetch(`${s.url}/sse`);
    const reader = res.body!.getReader();
    const first = await reader.read();
    // The leader ends the stream 300 ms after its first chunk: this one arrived alone, before the end.
    expect(new TextDecoder().decode(first.value)).toBe('data: one\n\n');
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
    expect(rest).toBe('data: two\n\n');
  });

  it('pipes an upgrade both ways', async () => {
    const leader = await leaderServer();
    const s = await standby(() => leader.url);
    const socket = connect(Number(new URL(s.url).port), '127.0.0.1');
    open.push({ close: () => socket.destroy() });
    socket.write('GET /api/runs/x/attach HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n');
    let got = '';
    await new Promise<void>((resolve) => {
      socket.on('data', (c: Buffer) => {
        got += c.toString();
        if (got.includes('\r\n\r\n') && !got.includes('ping')) socket.write('ping');
        if (got.endsWith('ping')) resolve();
      });
    });
    expect(got).toMatch(/^HTTP\/1\.1 101/);
    expect(leader.seen).toHaveLength(0);
  });

  it('holds a request while the leader refuses, and relays it once the leader listens', async () => {
    const probe = await leaderServer();
    const port = Number(new URL(probe.url).port);
    await new Promise((r) => (probe.server.closeAllConnections(), probe.server.close(r)));
    const s = await standby(() => `http://127.0.0.1:${port}`);
    const pending = fetch(`${s.url}/api/runs`, { method: 'POST', body: 'held' });
    await new Promise((r) => setTimeout(r, 600));
    await leaderServer(port);
    const res = await pending;
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ body: 'held' });
  });

  it('answers 503 NO_LEADER when no leader is known within the hold', async () => {
    const s = await standby(() => undefined, 300);
    const res = await fetch(`${s.url}/api/runs`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: 'NO_LEADER', error: { code: 'NO_LEADER' } });
  });

  it('serves TLS itself and relays to an https leader that presents its certificate, and to no other', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dstack-ha-tls-'));
    open.push({ close: () => rm(dir, { recursive: true, force: true }) });
    const [certFile, keyFile] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
    await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=dstack-ha', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile]);
    const pem = { cert: await readFile(certFile), key: await readFile(keyFile) };
    const leader = createHttpsServer(pem, (req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(`leader saw ${req.headers['x-forwarded-proto']}`));
    await new Promise<void>((resolve) => leader.listen(0, '127.0.0.1', resolve));
    open.push({ close: () => new Promise((r) => (leader.closeAllConnections(), leader.close(r))) });
    const leaderUrl = `https://127.0.0.1:${(leader.address() as AddressInfo).port}`;
    const client = new Agent({ connect: { ca: pem.cert } });
    open.push(client);

    for (const trusted of [true, false]) {
      const relay = createLeaderRelay({
        leader: () => leaderUrl,
        scheme: 'https',
        health: () => ({ version: 't', pid: process.pid, uptimeSeconds: 0, home: '/standby', role: 'standby' }),
        holdMs: 300,
        ...(trusted ? { extraCa: pem.cert } : {}),
      });
      const listener = await openSwitchListener(0, '127.0.0.1', pem, (socket) => relay.accept(socket));
      open.push({ close: () => relay.close(true) }, listener);
      const res = await request(`https://127.0.0.1:${listener.port}/proxy/services/main/x/`, { dispatcher: client });
      const text = await res.body.text();
      if (trusted) expect([res.statusCode, text]).toEqual([200, 'leader saw https']);
      else expect(res.statusCode).toBe(503);
    }
  });
});

const TOKEN = 'right-token';
const KEY = 'a'.repeat(64);

/** The leader's real proxy (relay key KEY) in front of an upstream that echoes what it was sent. */
async function proxyLeader(): Promise<{ url: string; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const upstream = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  open.push({ close: () => new Promise((r) => (upstream.closeAllConnections(), upstream.close(r))) });
  const routes = new MemoryRouteTable();
  routes.replace([{
    project: 'main', run: 'svc', auth: true, stripPrefix: true, rateLimits: [], canScaleFromZero: false, readTimeoutMs: 60_000,
    replicas: [{ id: 'r1', origin: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` }],
  }]);
  const proxy = createProxyServer({ routes, authenticate: (project, token) => (project === 'main' && token === TOKEN ? 'ok' : 'unknown'), relayKey: () => KEY });
  const { port } = await proxy.listen(0, '127.0.0.1');
  open.push({ close: async () => (await proxy.close(), await routes.close()) });
  return { url: `http://127.0.0.1:${port}`, seen };
}

/** A GET from a chosen loopback source address (Linux routes all of 127/8 to lo). */
function getFrom(localAddress: string, url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { localAddress, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('client addresses through a standby (relay key)', () => {
  const path = '/proxy/services/main/svc/hello';

  it('counts failed logins per client, not per standby, and hands replicas the client address without the key', async () => {
    const leader = await proxyLeader();
    const s = await standby(() => leader.url, undefined, () => KEY);
    for (let i = 0; i < 10; i++) expect(await getFrom('127.0.0.2', s.url + path, { authorization: 'Bearer wrong' })).toBe(403);
    expect(await getFrom('127.0.0.2', s.url + path, { authorization: `Bearer ${TOKEN}` })).toBe(429);
    expect(await getFrom('127.0.0.3', s.url + path, { authorization: `Bearer ${TOKEN}` })).toBe(200);
    expect(leader.seen).toHaveLength(1);
    expect(leader.seen[0]!['x-forwarded-for']).toBe('127.0.0.3');
    expect(leader.seen[0]!['x-dstack-relay']).toBeUndefined();
    // A client's own relay header is replaced by the standby's, so it cannot vouch for an address it made up.
    expect(await getFrom('127.0.0.3', s.url + path, { authorization: `Bearer ${TOKEN}`, 'x-dstack-relay': 'forged', 'x-forwarded-for': '10.1.1.1' })).toBe(200);
    expect(leader.seen[1]!['x-forwarded-for']).toBe('10.1.1.1, 127.0.0.3');
  });

  it('without the key the standby is the client: its clients share one login limit', async () => {
    const leader = await proxyLeader();
    const s = await standby(() => leader.url);
    for (let i = 0; i < 10; i++) expect(await getFrom('127.0.0.2', s.url + path, { authorization: 'Bearer wrong' })).toBe(403);
    expect(await getFrom('127.0.0.3', s.url + path, { authorization: `Bearer ${TOKEN}` })).toBe(429);
  });

  it('ignores a forged relay header sent straight to the leader and trusts none of its X-Forwarded-For', async () => {
    const leader = await proxyLeader();
    for (let i = 0; i < 10; i++) {
      const status = await getFrom('127.0.0.4', leader.url + path, { authorization: 'Bearer wrong', 'x-dstack-relay': 'b'.repeat(64), 'x-forwarded-for': `10.0.0.${i}` });
      expect(status).toBe(403);
    }
    // The failures were counted against the real address, not the ten it claimed.
    expect(await getFrom('127.0.0.4', leader.url + path, { authorization: `Bearer ${TOKEN}` })).toBe(429);
    expect(await getFrom('127.0.0.5', leader.url + path, { authorization: `Bearer ${TOKEN}`, 'x-dstack-relay': 'short', 'x-forwarded-for': '10.9.9.9' })).toBe(200);
    expect(leader.seen[0]!['x-forwarded-for']).toBe('10.9.9.9, 127.0.0.5');
    expect(leader.seen[0]!['x-dstack-relay']).toBeUndefined();
  });
});
