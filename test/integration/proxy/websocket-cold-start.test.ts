/**
 * WebSockets through the real proxy while the service scales up from zero: the upgrade request is held like an
 * HTTP request (bounded wait, bounded queue, client abort ends the wait), then upgraded once a replica is routed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import { auth, deferred, harness, route, startProxy, startUpstream } from './helpers.js';

const client = new Agent({ connections: 4 });
afterAll(() => client.close());
const defer = harness();

/** Fails the test with a message instead of hanging until vitest's timeout when a step never happens. */
function within<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen (waited ${ms} ms)`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

/** A replica answering WebSockets with `echo:<message>` and plain HTTP `/hang` only once `release()` is called. */
async function wsReplica() {
  const release = deferred();
  const hanging = deferred();
  const up = await startUpstream((req, res) => {
    if (req.url !== '/hang') return void res.end('plain');
    hanging.resolve();
    void release.promise.then(() => res.end('late'));
  }, defer);
  const wss = new WebSocketServer({ server: up.server });
  const closed: string[] = [];
  wss.on('connection', (socket, req) => {
    socket.on('message', (data) => socket.send(`echo:${String(data)}`));
    socket.on('close', () => closed.push(req.url ?? ''));
  });
  defer(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  return { ...up, closed, hanging: hanging.promise, release: release.resolve };
}

const cold = () => route({ replicas: [], canScaleFromZero: true });

async function until(count: () => number, n: number): Promise<void> {
  while (count() !== n) await new Promise((r) => setImmediate(r));
}

describe('WebSocket during a cold start', () => {
  it('holds the upgrade until a replica is routed, then upgrades and echoes', async () => {
    const woken = deferred<string>();
    const proxy = await startProxy(defer, { onColdStart: (p, r) => woken.resolve(`${p}/${r}`) });
    proxy.routes.set(cold());
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/proxy/services/main/svc/ws?room=1`, { headers: auth });
    const opened = new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject).once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`))));
    expect(await within(woken.promise, 'the cold-start hook')).toBe('main/svc');
    expect(proxy.routes.held.count('main/svc')).toBe(1);

    const replica = await wsReplica();
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: replica.origin }], canScaleFromZero: true }));
    await within(opened, 'the WebSocket opening once a replica is routed');
    expect(proxy.routes.held.count('main/svc')).toBe(0);
    const reply = new Promise<string>((resolve) => ws.once('message', (d) => resolve(String(d))));
    ws.send('ping');
    expect(await within(reply, 'the echo')).toBe('echo:ping');
    ws.close();
    await within(until(() => replica.closed.length, 1), 'the replica seeing the close');
    expect(replica.closed).toEqual(['/ws?room=1']);
    await within(proxy.routes.drain('a'), 'the tunnel releasing the replica');
  });

  it('answers 503 with Retry-After when no replica comes within the hold time', async () => {
    const proxy = await startProxy(defer, { holdTimeoutMs: 100 });
    proxy.routes.set(cold());
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/proxy/services/main/svc/ws`, { headers: auth });
    ws.on('error', () => undefined);
    const refusal = await within(
      new Promise<{ status: number; retryAfter: unknown }>((resolve) =>
        ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] })),
      ),
      'the refusal after the hold time',
    );
    expect(refusal).toEqual({ status: 503, retryAfter: '5' });
    ws.terminate();
    expect(proxy.routes.held.count('main/svc')).toBe(0);
  });

  it('refuses with 503 at once when the hold queue is full, and frees the place of a client that left', async () => {
    const woken = deferred();
    const proxy = await startProxy(defer, { maxHeldPerService: 1, onColdStart: () => woken.resolve() });
    proxy.routes.set(cold());
    const held = new WebSocket(`ws://127.0.0.1:${proxy.port}/proxy/services/main/svc/ws`, { headers: auth });
    held.on('error', () => undefined);
    await within(woken.promise, 'the first upgrade being held');
    // The queue is shared with plain HTTP requests of the same service.
    const overflow = await request(`${proxy.base}/proxy/services/main/svc/x`, { dispatcher: client, headers: auth });
    expect(overflow.statusCode).toBe(503);
    expect(await overflow.body.json()).toEqual({ detail: 'Service main/svc is scaling up and too many requests are waiting' });

    held.terminate();
    await within(until(() => proxy.routes.held.count('main/svc'), 0), 'the held place being freed');
    const next = new WebSocket(`ws://127.0.0.1:${proxy.port}/proxy/services/main/svc/ws`, { headers: auth });
    const opened = new Promise((resolve, reject) => next.once('open', resolve).once('error', reject));
    await within(until(() => proxy.routes.held.count('main/svc'), 1), 'the next upgrade being held');
    const replica = await wsReplica();
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: replica.origin }], canScaleFromZero: true }));
    await within(opened, 'the next WebSocket opening');
    next.close();
  });

  it('counts a tunnel as outstanding on its replica until it closes, and releases it exactly once', async () => {
    const replica = await wsReplica();
    const proxy = await startProxy(defer);
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: replica.origin }] }));
    // A plain request stays in flight throughout: a second release of the tunnel's count would take it to 0.
    const hanging = request(`${proxy.base}/proxy/services/main/svc/hang`, { dispatcher: client, headers: auth });
    await within(replica.hanging, 'the plain request reaching the replica');
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/proxy/services/main/svc/ws`, { headers: auth });
    await within(new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)), 'the WebSocket opening');
    expect(proxy.routes.upstreams.outstanding('a')).toBe(2);
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.close();
    await within(closed, 'the WebSocket closing');
    await within(until(() => replica.closed.length, 1), 'the replica seeing the close');
    await within(until(() => proxy.routes.upstreams.outstanding('a'), 1), 'the tunnel releasing its count');
    // Both ends are closed (the replica's `close` fired): every close path of the tunnel has run by now.
    await new Promise((r) => setImmediate(r));
    expect(proxy.routes.upstreams.outstanding('a')).toBe(1);
    replica.release();
    expect(await (await hanging).body.text()).toBe('late');
    expect(proxy.routes.upstreams.outstanding('a')).toBe(0);
  });
});
