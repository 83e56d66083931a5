import { describe, expect, it } from 'vitest';
import type { RouteTable, ServiceRoute } from '../../../src/proxy/contracts.js';
import { syncRoutes } from '../../../src/daemon/reconcile/routes-sync.js';
import type { RunRecord } from '../../../src/core/state/schema.js';
import { replica, run, settings } from './fixtures.js';

/** A route table of our own interface that counts its writes. */
function table() {
  const routes = new Map<string, ServiceRoute>();
  const writes: string[] = [];
  const t: RouteTable = {
    get: (p, r) => routes.get(`${p}/${r}`),
    set: (route) => (writes.push(`set ${route.run}`), routes.set(`${route.project}/${route.run}`, { ...route })),
    delete: (p, r) => (writes.push(`delete ${r}`), routes.delete(`${p}/${r}`)),
    list: () => [...routes.values()],
    waitForReplica: async () => false,
  };
  return { t, writes };
}

const options = { readTimeoutMs: 1_000, connection: () => ({ replicaOrigin: (port: number) => ({ origin: `http://127.0.0.1:${port}` }) }) };
const limit = (header: string) => ({ prefix: '/', key: { type: 'header' as const, header }, rps: 1, burst: 1 });

describe('syncRoutes', () => {
  it('rewrites a route only when what it routes changed, and drops the routes of finished runs', () => {
    const { t, writes } = table();
    const r: RunRecord = run({ status: 'running', replicas: [replica()], settings: settings({ rateLimits: [limit('x-a')] }) });
    syncRoutes(t, [r], options);
    syncRoutes(t, [{ ...r, settings: settings({ rateLimits: [limit('x-a')] }) }], options);
    expect(writes).toEqual(['set svc']);
    syncRoutes(t, [{ ...r, settings: settings({ rateLimits: [limit('x-b')] }) }], options);
    syncRoutes(t, [{ ...r, replicas: [replica(), replica({ num: 1 })] }], options);
    expect(t.get('main', 'svc')?.replicas.map((x) => x.id)).toEqual(['svc-0-0', 'svc-1-0']);
    syncRoutes(t, [{ ...r, status: 'terminated' }], options);
    expect(writes).toEqual(['set svc', 'set svc', 'set svc', 'delete svc']);
  });
});
