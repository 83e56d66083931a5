/**
 * Streams through the proxy: SSE unbuffered, client disconnects reaching the replica, WebSockets.
 * Ordering, not timing, proves "unbuffered": the replica only finishes after the client has read the first event.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import { auth, deferred, harness, route, startProxy, startUpstream } from './helpers.js';

const client = new Agent({ connections: 8 });
afterAll(() => client.close());
const defer = harness();

/** Fails the test with a message instead of hanging until vitest's timeout when a step never happens. */
function within<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen (waited ${ms} ms; the proxy probably buffered or lost it)`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

describe('streaming', () => {
  it('delivers the first SSE event before the replica has finished the stream', async () => {
    const firstSeen = deferred();
    const log: string[] = [];
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('data: token-1\n\n');
      log.push('upstream wrote 1');
      // The replica ends the stream only once the client has seen event 1: a buffering proxy deadlocks here.
      void firstSeen.promise.then(() => {
        res.write('data: token-2\n\n');
        res.end();
        log.push('upstream finished');
      });
    }, defer);
    const proxy = await startProxy(defer);
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }] }));
    const res = await request(`${proxy.base}/proxy/services/main/svc/sse`, { dispatcher: client, headers: auth });
    expect(res.headers['content-type']).toBe('text/event-stream');
    const reader = res.body[Symbol.asyncIterator]();
    const first = await within(reader.next(), 'the first SSE event');
    expect(String(first.value)).toContain('token-1');
    log.push('client got 1');
    firstSeen.resolve();
    let rest = '';
    for (let r = await reader.next(); !r.done; r = await reader.next()) rest += String(r.value);
    expect(rest).toContain('token-2');
    expect(log).toEqual(['upstream wrote 1', 'client got 1', 'upstream finished']);
  });

  it('aborts the upstream request when the client disconnects', async () => {
    const arrived = deferred();
    const upstreamSawClose = deferred<string>();
    const up = await startUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: hello\n\n');
      arrived.resolve();
      res.on('close', () => upstreamSawClose.resolve(res.writableFinished ? 'finished' : 'closed early'));
    }, defer);
    const proxy = await startProxy(defer);
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }] }));
    const abort = new AbortController();
    const res = await request(`${proxy.base}/proxy/services/main/svc/slow`, { dispatcher: client, headers: auth, signal: abort.signal });
    await within(arrived.promise, 'the request reaching the replica');
    abort.abort();
    await res.body.dump().catch(() => undefined);
    expect(await within(upstreamSawClose.promise, 'the replica seeing the disconnect')).toBe('closed early');
    // The replica's slot is free again once the aborted exchange is cleaned up.
    await within(proxy.routes.drain('a'), 'the replica draining');
  });

  it('proxies a WebSocket echo (Bearer auth, strip prefix) and closes both ends together', async () => {
    const up = await startUpstream((_req, res) => res.end('plain'), defer);
    const wss = new WebSocketServer({ server: up.server });
    const upstreamPaths: string[] = [];
    const upstreamClosed = deferred();
    wss.on('connection', (socket, req) => {
      upstreamPaths.push(req.url ?? '');
      socket.on('message', (data) => socket.send(`echo:${String(data)}`));
      socket.on('close', () => upstreamClosed.resolve());
    });
    defer(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    const proxy = await startProxy(defer);
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }] }));

    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/proxy/services/main/svc/ws?room=1`, { headers: auth });
    await within(new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)), 'the WebSocket opening');
    const reply = new Promise<string>((resolve) => ws.once('message', (d) => resolve(String(d))));
    ws.send('ping');
    expect(await within(reply, 'the echo')).toBe('echo:ping');
    expect(upstreamPaths).toEqual(['/ws?room=1']);
    ws.close();
    await within(upstreamClosed.promise, 'the replica seeing the close');
  });

  it('refuses a WebSocket without a token with 401', async () => {
    const up = await startUpstream((_req, res) => res.end('plain'), defer);
    const proxy = await startProxy(defer);
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }] }));
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/proxy/services/main/svc/ws`);
    ws.on('error', () => undefined); // terminate() below reports the unfinished handshake as an error
    const status = await within(
      new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))),
      'the refusal',
    );
    expect(status).toBe(401);
    ws.terminate();
  });
});
