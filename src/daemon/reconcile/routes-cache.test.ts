import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../core/state/schema.js';
import { MemoryRouteTable } from '../../proxy/routing/route-table.js';
import { replica, run } from '../../../test/unit/reconcile/fixtures.js';
import { RouteCache, syncRoutes } from './routes-sync.js';

/** A connection that counts the origins asked of it: a cached route asks none. */
function connection(host: string) {
  let asked = 0;
  return {
    conn: { replicaOrigin: (port: number) => (asked++, { origin: `http://${host}:${port}` }) },
    asked: () => asked,
  };
}

describe('RouteCache', () => {
  it('builds a route again only when its run record or one of its connections changed', async () => {
    const routes = new MemoryRouteTable();
    const cache = new RouteCache();
    const a = connection('127.0.0.1');
    let current: typeof a.conn | undefined = a.conn;
    const options = { readTimeoutMs: 1_000, connection: () => current };
    const r: RunRecord = run({ status: 'running', replicas: [replica()] });
    syncRoutes(routes, [r], options, cache);
    const first = routes.get('main', 'svc');
    syncRoutes(routes, [r], options, cache);
    expect(a.asked()).toBe(1);
    expect(routes.get('main', 'svc')).toBe(first);

    // A new record (even an equal one) is looked at again.
    syncRoutes(routes, [{ ...r }], options, cache);
    expect(a.asked()).toBe(2);

    // A renewed connection gives the replica a new origin.
    const b = connection('127.0.0.2');
    current = b.conn;
    syncRoutes(routes, [r], options, cache);
    expect(routes.get('main', 'svc')?.replicas[0]?.origin).toBe(`http://127.0.0.2:${r.replicas[0]!.hostPort}`);

    // An unreachable host (no connection) leaves routing at once, and comes back with its connection.
    current = undefined;
    syncRoutes(routes, [r], options, cache);
    expect(routes.get('main', 'svc')?.replicas).toEqual([]);
    current = b.conn;
    syncRoutes(routes, [r], options, cache);
    expect(routes.get('main', 'svc')?.replicas).toHaveLength(1);

    syncRoutes(routes, [{ ...r, status: 'terminated' }], options, cache);
    expect(routes.get('main', 'svc')).toBeUndefined();
    await routes.close();
  });
});
