import { describe, expect, it } from 'vitest';
import type { ServiceRoute } from '../contracts.js';
import { MemoryRouteTable } from './route-table.js';

const route = (replicas: ServiceRoute['replicas']): ServiceRoute => ({
  project: 'p', run: 'r', auth: true, stripPrefix: true, replicas, rateLimits: [], canScaleFromZero: true, readTimeoutMs: 1000,
});

describe('MemoryRouteTable', () => {
  it('resolves waitForReplica when set() brings a ready replica, false on abort or delete', async () => {
    const table = new MemoryRouteTable();
    table.set(route([]));
    const waiting = table.waitForReplica('p', 'r', 60_000);
    table.set(route([]));
    table.set(route([{ id: 'x', origin: 'http://127.0.0.1:1' }]));
    expect(await waiting).toBe(true);
    expect(await table.waitForReplica('p', 'r', 60_000)).toBe(true);

    table.set(route([]));
    const abort = new AbortController();
    const aborted = table.waitForReplica('p', 'r', 60_000, abort.signal);
    abort.abort();
    expect(await aborted).toBe(false);
    const deleted = table.waitForReplica('p', 'r', 60_000);
    table.delete('p', 'r');
    expect(await deleted).toBe(false);
    expect(table.list()).toEqual([]);
    await table.close();
  });

  it('keeps a removed replica counted until its requests finish, then drops it', async () => {
    const table = new MemoryRouteTable();
    table.set(route([{ id: 'x', origin: 'http://127.0.0.1:1' }]));
    table.upstreams.acquire('x');
    table.set(route([]));
    expect(table.upstreams.outstanding('x')).toBe(1);
    let drained = false;
    const done = table.drain('x').then(() => (drained = true));
    await Promise.resolve();
    expect(drained).toBe(false);
    table.upstreams.release('x');
    await done;
    expect(table.upstreams.outstanding('x')).toBe(0);
    await table.close();
  });

  it('replace() holds exactly the snapshot, releasing waiters as set() and delete() would, and tells listeners', async () => {
    const table = new MemoryRouteTable();
    let changes = 0;
    table.onChange(() => changes++);
    table.set(route([]));
    table.set({ ...route([]), run: 'gone' });
    const ready = table.waitForReplica('p', 'r', 60_000);
    const gone = table.waitForReplica('p', 'gone', 60_000);
    table.replace([route([{ id: 'x', origin: 'http://127.0.0.1:1' }]), { ...route([]), run: 'new' }]);
    expect(await ready).toBe(true);
    expect(await gone).toBe(false);
    expect(table.list().map((r) => r.run).sort()).toEqual(['new', 'r']);
    expect(changes).toBe(3);
    await table.close();
  });

  it('drain() also waits for every added drainer', async () => {
    const table = new MemoryRouteTable();
    let release!: () => void;
    const asked: string[] = [];
    table.addDrainer((id) => {
      asked.push(id);
      return new Promise<void>((r) => (release = r));
    });
    let drained = false;
    const done = table.drain('x').then(() => (drained = true));
    await Promise.resolve();
    expect(asked).toEqual(['x']);
    expect(drained).toBe(false);
    release();
    await done;
    await table.close();
  });
});
