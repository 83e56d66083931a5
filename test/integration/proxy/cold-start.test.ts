/**
 * Scale from zero: requests to a service with no ready replica that may scale up are held (bounded queue, bounded
 * wait) until the control plane routes a replica; the autoscaler hook is called on the first held request.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { makeForwarder } from '../../../src/proxy/models/forward.js';
import { auth, deadOrigin, deferred, echoHandler, harness, route, startProxy, startUpstream } from './helpers.js';

const client = new Agent({ connections: 16 });
afterAll(() => client.close());
const defer = harness();

describe('cold start', () => {
  it('holds a request (body included) until set() adds a replica, then answers 200', async () => {
    const coldStarts: string[] = [];
    const called = deferred();
    const proxy = await startProxy(defer, {
      onColdStart: (p, r) => {
        coldStarts.push(`${p}/${r}`);
        called.resolve();
      },
    });
    proxy.routes.set(route({ replicas: [], canScaleFromZero: true }));
    const pending = request(`${proxy.base}/proxy/services/main/svc/gen`, { dispatcher: client, method: 'POST', headers: auth, body: 'prompt-body' });
    await called.promise;
    const up = await startUpstream(echoHandler('late'), defer);
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }], canScaleFromZero: true }));
    const res = await pending;
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toMatchObject({ replica: 'late', body: 'prompt-body', url: '/gen' });
    expect(coldStarts).toEqual(['main/svc']);
  });

  it('answers 503 with Retry-After when no replica comes within the hold time', async () => {
    const proxy = await startProxy(defer, { holdTimeoutMs: 100 });
    proxy.routes.set(route({ replicas: [], canScaleFromZero: true }));
    const res = await request(`${proxy.base}/proxy/services/main/svc/`, { dispatcher: client, headers: auth });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
    await res.body.dump();
  });

  it('answers 503 at once when the hold queue of the service is full', async () => {
    const called = deferred();
    const proxy = await startProxy(defer, { maxHeldPerService: 1, onColdStart: () => called.resolve() });
    proxy.routes.set(route({ replicas: [], canScaleFromZero: true }));
    const held = request(`${proxy.base}/proxy/services/main/svc/one`, { dispatcher: client, headers: auth });
    await called.promise;
    const overflow = await request(`${proxy.base}/proxy/services/main/svc/two`, { dispatcher: client, headers: auth });
    expect(overflow.statusCode).toBe(503);
    expect(overflow.headers['retry-after']).toBeDefined();
    await overflow.body.dump();
    const up = await startUpstream(echoHandler('A'), defer);
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }], canScaleFromZero: true }));
    const res = await held;
    expect(res.statusCode).toBe(200);
    await res.body.dump();
  });
});

describe('makeForwarder (model endpoint)', () => {
  it('sends a buffered request to a ready replica, past a dead one', async () => {
    const proxy = await startProxy(defer, {});
    const up = await startUpstream(echoHandler('B'), defer);
    proxy.routes.set(route({ replicas: [{ id: 'dead', origin: await deadOrigin() }, { id: 'b', origin: up.origin }] }));
    const forward = makeForwarder(proxy.routes, { random: () => 0.99 });
    const res = await forward('main', 'svc', { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(res.statusCode).toBe(200);
    let text = '';
    for await (const chunk of res.body) text += chunk.toString();
    expect(JSON.parse(text)).toMatchObject({ replica: 'B', body: '{"a":1}', url: '/v1/chat/completions' });
    await proxy.routes.drain('b');
  });

  it('rejects with a 404 DstackError for an unknown run and 503 when nothing is ready', async () => {
    const proxy = await startProxy(defer, {});
    proxy.routes.set(route({ replicas: [] }));
    const forward = makeForwarder(proxy.routes);
    await expect(forward('main', 'nope', { method: 'GET', path: '/', headers: {} })).rejects.toMatchObject({ code: 'SERVICE_NOT_FOUND', status: 404 });
    await expect(forward('main', 'svc', { method: 'GET', path: '/', headers: {} })).rejects.toMatchObject({ code: 'NO_READY_REPLICAS', status: 503 });
  });
});
