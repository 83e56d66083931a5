/**
 * Replica choice and failure handling with real upstreams: least outstanding, retry past a dead replica,
 * 502/503/504, rate limits, drain.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { auth, deadOrigin, deferred, echoHandler, harness, route, startProxy, startUpstream } from './helpers.js';

const client = new Agent({ connections: 16 });
afterAll(() => client.close());
const defer = harness();

const call = (url: string, init: { method?: 'GET' | 'POST'; body?: string } = {}) =>
  request(url, { dispatcher: client, headers: auth, method: init.method ?? 'GET', body: init.body ?? null });

/** An upstream answering `/hang` only when `release()` is called, and echoing its name elsewhere. */
async function holdingUpstream(name: string) {
  const release = deferred();
  const arrived = deferred();
  const echo = echoHandler(name);
  const up = await startUpstream((req, res) => {
    if (req.url === '/hang') {
      arrived.resolve();
      void release.promise.then(() => res.end(name));
    } else echo(req, res);
  }, defer);
  return { ...up, release: release.resolve, arrived: arrived.promise };
}

describe('replica selection', () => {
  it('sends new requests to the replica with the fewest outstanding requests', async () => {
    const a = await holdingUpstream('A');
    const b = await holdingUpstream('B');
    // random() = 0.99 keeps the first of tied replicas, so the hanging request goes to A.
    const proxy = await startProxy(defer, { random: () => 0.99 });
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: a.origin }, { id: 'b', origin: b.origin }] }));
    const hanging = call(`${proxy.base}/proxy/services/main/svc/hang`);
    await a.arrived;
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await call(`${proxy.base}/proxy/services/main/svc/who`);
      seen.push(((await res.body.json()) as { replica: string }).replica);
    }
    expect(seen).toEqual(['B', 'B', 'B', 'B']);
    a.release();
    expect(await (await hanging).body.text()).toBe('A');
  });

  it('retries on another replica when the first refuses the connection, request body intact', async () => {
    const dead = await deadOrigin();
    const alive = await startUpstream(echoHandler('alive'), defer);
    const proxy = await startProxy(defer, { random: () => 0.99 });
    proxy.routes.set(route({ replicas: [{ id: 'dead', origin: dead }, { id: 'alive', origin: alive.origin }] }));
    const res = await call(`${proxy.base}/proxy/services/main/svc/p`, { method: 'POST', body: 'payload-123' });
    expect(res.statusCode).toBe(200);
    const json = (await res.body.json()) as { replica: string; body: string };
    expect(json).toMatchObject({ replica: 'alive', body: 'payload-123' });
  });

  it('answers 502 when every replica refuses the connection', async () => {
    const proxy = await startProxy(defer);
    proxy.routes.set(route({ replicas: [{ id: 'd1', origin: await deadOrigin() }, { id: 'd2', origin: await deadOrigin() }] }));
    const res = await call(`${proxy.base}/proxy/services/main/svc/`);
    expect(res.statusCode).toBe(502);
    expect(((await res.body.json()) as { detail: string }).detail).toMatch(/main\/svc/);
  });

  it('answers 503 with Retry-After when the service has no ready replica and cannot scale from zero', async () => {
    const proxy = await startProxy(defer);
    proxy.routes.set(route({ replicas: [] }));
    const res = await call(`${proxy.base}/proxy/services/main/svc/`);
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
    await res.body.dump();
  });

  it('answers 504 when the replica sends no response headers within the read timeout', async () => {
    const slow = await holdingUpstream('slow');
    const proxy = await startProxy(defer);
    proxy.routes.set(route({ readTimeoutMs: 200, replicas: [{ id: 's', origin: slow.origin }] }));
    const res = await call(`${proxy.base}/proxy/services/main/svc/hang`);
    expect(res.statusCode).toBe(504);
    expect(await res.body.json()).toEqual({ detail: 'Timed out requesting upstream' });
    slow.release();
  });
});

describe('read timeout after the response started', () => {
  it('cuts the client connection when the replica stalls mid-body', async () => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      // …and nothing more: the per-read timeout fires while the body is open.
    }, defer);
    const proxy = await startProxy(defer);
    proxy.routes.set(route({ readTimeoutMs: 200, replicas: [{ id: 's', origin: up.origin }] }));
    const res = await call(`${proxy.base}/proxy/services/main/svc/stall`);
    expect(res.statusCode).toBe(200);
    await expect(res.body.text()).rejects.toThrow();
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After once the bucket is empty; the longest prefix wins', async () => {
    const up = await startUpstream(echoHandler('A'), defer);
    const now = 1_000_000;
    const proxy = await startProxy(defer, { clock: () => now });
    proxy.routes.set(route({
      replicas: [{ id: 'a', origin: up.origin }],
      rateLimits: [
        { prefix: '/', key: { type: 'ip_address' }, rps: 1000, burst: 100 },
        { prefix: '/limited', key: { type: 'ip_address' }, rps: 1, burst: 0 },
      ],
    }));
    const first = await call(`${proxy.base}/proxy/services/main/svc/limited/x`);
    expect(first.statusCode).toBe(200);
    await first.body.dump();
    const second = await call(`${proxy.base}/proxy/services/main/svc/limited/x`);
    expect(second.statusCode).toBe(429);
    expect(second.headers['retry-after']).toBe('1');
    await second.body.dump();
    const other = await call(`${proxy.base}/proxy/services/main/svc/other`);
    expect(other.statusCode).toBe(200);
    await other.body.dump();
  });

  it('keys buckets by a header when the rule says so', async () => {
    const up = await startUpstream(echoHandler('A'), defer);
    const proxy = await startProxy(defer, { clock: () => 42_000 });
    proxy.routes.set(route({
      replicas: [{ id: 'a', origin: up.origin }],
      rateLimits: [{ prefix: '/', key: { type: 'header', header: 'X-User' }, rps: 1, burst: 0 }],
    }));
    const as = (user: string) => request(`${proxy.base}/proxy/services/main/svc/`, { dispatcher: client, headers: { ...auth, 'x-user': user } });
    const codes: number[] = [];
    for (const user of ['u1', 'u2', 'u1']) {
      const res = await as(user);
      codes.push(res.statusCode);
      await res.body.dump();
    }
    expect(codes).toEqual([200, 200, 429]);
  });
});

describe('drain', () => {
  it('lets in-flight requests to a removed replica finish, and resolves drain() only then', async () => {
    const a = await holdingUpstream('A');
    const proxy = await startProxy(defer);
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: a.origin }] }));
    const hanging = call(`${proxy.base}/proxy/services/main/svc/hang`);
    await a.arrived;
    proxy.routes.set(route({ replicas: [] }));
    const order: string[] = [];
    const drained = proxy.routes.drain('a').then(() => order.push('drained'));
    // Let every pending callback run: a drain() that ignored the in-flight request would have resolved by now.
    await new Promise((resolve) => setImmediate(resolve));
    order.push('released');
    a.release();
    const res = await hanging;
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('A');
    await drained;
    expect(order).toEqual(['released', 'drained']);
  });
});
