import { describe, expect, it } from 'vitest';
import type { ServiceRoute } from '../contracts.js';
import { MemoryRouteTable } from '../routing/route-table.js';
import { ColdStartHold, holdOptions } from './hold.js';

const route = (replicas: ServiceRoute['replicas']): ServiceRoute => ({
  project: 'p', run: 'r', auth: true, stripPrefix: true, replicas, rateLimits: [], canScaleFromZero: true, readTimeoutMs: 1000,
});

const never = new AbortController().signal;

describe('ColdStartHold', () => {
  it('holds until a replica is routed, waking the autoscaler on the first held request only', async () => {
    const table = new MemoryRouteTable();
    table.set(route([]));
    const woken: string[] = [];
    const hold = new ColdStartHold(table, table.held, holdOptions({ onColdStart: (p, r) => woken.push(`${p}/${r}`) }));
    const first = hold.wait('p', 'r', never);
    const second = hold.wait('p', 'r', never);
    expect(hold.heldCount('p', 'r')).toBe(2);
    table.set(route([{ id: 'x', origin: 'http://127.0.0.1:1' }]));
    expect(await Promise.all([first, second])).toEqual(['ready', 'ready']);
    expect(woken).toEqual(['p/r']);
    expect(hold.heldCount('p', 'r')).toBe(0);
    await table.close();
  });

  it('bounds the queue per service across holds sharing the route table, and frees the slot on abort', async () => {
    const table = new MemoryRouteTable();
    table.set(route([]));
    // Two entry points (service proxy and model endpoint) over one table share the per-service count.
    const proxyHold = new ColdStartHold(table, table.held, holdOptions({ maxHeldPerService: 1 }));
    const modelHold = new ColdStartHold(table, table.held, holdOptions({ maxHeldPerService: 1 }));
    const abort = new AbortController();
    const held = proxyHold.wait('p', 'r', abort.signal);
    expect(await modelHold.wait('p', 'r', never)).toBe('full');
    expect(modelHold.heldCount('p', 'r')).toBe(1);
    abort.abort();
    expect(await held).toBe('aborted');
    expect(modelHold.heldCount('p', 'r')).toBe(0);
    await table.close();
  });

  it('gives up after the hold timeout, and when the service is deleted', async () => {
    const table = new MemoryRouteTable();
    table.set(route([]));
    expect(await new ColdStartHold(table, table.held, holdOptions({ holdTimeoutMs: 20 })).wait('p', 'r', never)).toBe('timeout');
    const hold = new ColdStartHold(table, table.held, holdOptions({}));
    const waiting = hold.wait('p', 'r', never);
    table.delete('p', 'r');
    expect(await waiting).toBe('timeout');
    expect(hold.heldCount('p', 'r')).toBe(0);
    await table.close();
  });

  it('frees the slot when the cold-start hook throws', async () => {
    const table = new MemoryRouteTable();
    table.set(route([]));
    const hold = new ColdStartHold(table, table.held, holdOptions({ onColdStart: () => { throw new Error('store down'); } }));
    await expect(hold.wait('p', 'r', never)).rejects.toThrow('store down');
    expect(hold.heldCount('p', 'r')).toBe(0);
    await table.close();
  });
});
