/**
 * Restart to serving (issue 15): a daemon that just started marks the routes of services that served before it
 * `warming` until their hosts are reconnected. Their requests wait as for a cold start, then go to the replica once
 * it is routed again; a route that turns out to have nothing (the host did not come back) answers 503 at once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { auth, deferred, echoHandler, harness, route, startProxy, startUpstream } from './helpers.js';

const client = new Agent({ connections: 16 });
afterAll(() => client.close());
const defer = harness();

describe('warming routes after a daemon restart', () => {
  it('holds a request until the replica is routed again, without waking the autoscaler of a service that is not at zero', async () => {
    const held = deferred();
    const coldStarts: string[] = [];
    const proxy = await startProxy(defer, {
      onColdStart: (p, r) => {
        coldStarts.push(`${p}/${r}`);
        held.resolve();
      },
    });
    proxy.routes.set(route({ replicas: [], canScaleFromZero: false, warming: true }));
    const pending = request(`${proxy.base}/proxy/services/main/svc/after-restart`, { dispatcher: client, headers: auth });
    // The hold's first request calls the hook; the daemon's hook only scales runs whose desired count is 0.
    await held.promise;
    const up = await startUpstream(echoHandler('adopted'), defer);
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }], canScaleFromZero: false }));
    const res = await pending;
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toMatchObject({ replica: 'adopted', url: '/after-restart' });
    expect(coldStarts).toEqual(['main/svc']);
  });

  it('answers 503 at once when the warmed route is replaced by one without replicas (the host did not come back)', async () => {
    const held = deferred();
    const proxy = await startProxy(defer, { holdTimeoutMs: 600_000, onColdStart: () => held.resolve() });
    proxy.routes.set(route({ replicas: [], canScaleFromZero: false, warming: true }));
    const pending = request(`${proxy.base}/proxy/services/main/svc/`, { dispatcher: client, headers: auth });
    await held.promise;
    proxy.routes.set(route({ replicas: [], canScaleFromZero: false }));
    const res = await pending;
    expect(res.statusCode).toBe(503);
    // Released by the route change: the 10-minute hold timeout would outlast the test's own.
    await res.body.dump();
  });

  it('answers 503 at once for a route without replicas that is neither warming nor able to scale from zero', async () => {
    const proxy = await startProxy(defer, { holdTimeoutMs: 600_000 });
    proxy.routes.set(route({ replicas: [], canScaleFromZero: false }));
    const res = await request(`${proxy.base}/proxy/services/main/svc/`, { dispatcher: client, headers: auth });
    expect(res.statusCode).toBe(503);
    await res.body.dump();
  });
});
