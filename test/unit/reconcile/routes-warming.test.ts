/** Restart to serving (issue 15): the routes a daemon serves before any host is reconnected. */
import { describe, expect, it } from 'vitest';
import { routeFor } from '../../../src/daemon/reconcile/routes-sync.js';
import { replica, run } from './fixtures.js';

const none = { readTimeoutMs: 1_000, connection: () => undefined };
const connected = { readTimeoutMs: 1_000, connection: () => ({ replicaOrigin: (port: number) => ({ origin: `http://127.0.0.1:${port}` }) }) };

describe('warming routes', () => {
  it('marks a service whose stored replica served as warming while its host is not reconnected', () => {
    const served = run({ status: 'running', replicas: [replica()] });
    expect(routeFor(served, { ...none, warming: true })).toMatchObject({ replicas: [], warming: true });
    // Without the start's flag the same state is just a service without replicas (503, or a cold start).
    expect(routeFor(served, none).warming).toBeUndefined();
    // Once connected the replica is routed and the route is no longer warming.
    const live = routeFor(served, { ...connected, warming: true });
    expect(live.replicas.map((r) => r.id)).toEqual(['svc-0-0']);
    expect(live.warming).toBeUndefined();
  });

  it('does not hold requests for services that had nothing to serve', () => {
    const starting = run({ status: 'provisioning', replicas: [replica({ status: 'provisioning', ready: false })] });
    expect(routeFor(starting, { ...none, warming: true }).warming).toBeUndefined();
    expect(routeFor(run({ status: 'running', replicas: [] }), { ...none, warming: true }).warming).toBeUndefined();
  });
});
