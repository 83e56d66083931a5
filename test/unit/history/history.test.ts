/** The dashboard plots' history: the bounded ring, the 5-second sampler over ServiceStats, and GET …/history. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createRunHistory } from '../../../src/daemon/api/run-history.js';
import { sendError } from '../../../src/daemon/api/http.js';
import { HISTORY_POINTS, PointRing, RunHistory, type HistoryPoint, type HistoryRun } from '../../../src/daemon/runs/history.js';
import { ServiceStats } from '../../../src/proxy/stats/service-stats.js';

const point = (t: number): HistoryPoint => ({ t, rps: 0, inFlight: 0, p50: 0, p99: 0, desired: 1, ready: 1 });

function run(name: string, over: Partial<HistoryRun> = {}): HistoryRun {
  return { id: `id-${name}`, project: 'main', name, status: 'running', desiredReplicas: 2, replicas: [], ...over };
}
const replica = (num: number, status: string, ready: boolean) => ({ replicaNum: num, status, ready }) as unknown as HistoryRun['replicas'][number];

describe('PointRing', () => {
  it('keeps the newest points, oldest first, and never more than its capacity', () => {
    const ring = new PointRing(3);
    expect(ring.points()).toEqual([]);
    for (let t = 1; t <= 5; t++) ring.push(point(t));
    expect(ring.size).toBe(3);
    expect(ring.points().map((p) => p.t)).toEqual([3, 4, 5]);
    expect(ring.last()?.t).toBe(5);
    expect(ring.points(3).map((p) => p.t)).toEqual([4, 5]);
  });

  it('covers an hour at 5 s by default', () => {
    const ring = new PointRing();
    for (let t = 0; t < HISTORY_POINTS + 10; t++) ring.push(point(t));
    expect(ring.size).toBe(720);
    expect(ring.points()[0]!.t).toBe(10);
  });
});

describe('RunHistory', () => {
  it('samples rate, in-flight, latency and replicas of active runs from the stats', () => {
    let now = 1_000_000_000;
    const stats = new ServiceStats({ clock: () => now });
    const runs = [
      run('svc', { replicas: [replica(0, 'running', true), replica(1, 'running', false), replica(2, 'terminated', false)] }),
      run('old', { status: 'terminated' }),
    ];
    const history = new RunHistory({ runs: () => runs, stats, clock: () => now });
    for (let i = 0; i < 30; i++) {
      stats.onRequest('main', 'svc', now);
      stats.onResponse('main', 'svc', 20, 200);
      now += 100;
    }
    // One more still in flight: 31 requests in the 30 s window.
    stats.onRequest('main', 'svc', now);
    now += 5000;
    history.sample();
    const [p] = history.points('main', 'svc');
    expect(p).toMatchObject({ t: Math.floor(now / 1000), rps: 1.033, inFlight: 1, desired: 2, ready: 1 });
    expect(p!.p50).toBeGreaterThan(15);
    expect(p!.p99).toBeLessThan(30);
    expect(history.has('main', 'old')).toBe(false);
  });

  it('starts a run applied again under the same name afresh and forgets ended runs an hour after their last point', () => {
    let now = 0;
    const runs = [run('svc')];
    const history = new RunHistory({ runs: () => runs, stats: new ServiceStats({ clock: () => now }), clock: () => now });
    history.sample();
    now += 5000;
    history.sample();
    expect(history.points('main', 'svc')).toHaveLength(2);
    runs[0] = run('svc', { id: 'second' });
    history.sample();
    expect(history.points('main', 'svc')).toHaveLength(1);

    runs[0] = run('svc', { id: 'second', status: 'terminated' });
    now += 3599_000;
    history.sample();
    expect(history.points('main', 'svc')).toHaveLength(1);
    now += 1000;
    history.sample();
    expect(history.has('main', 'svc')).toBe(false);
  });
});

describe('GET /api/runs/<name>/history', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  async function serve(runs: HistoryRun[], now: () => number) {
    const api = createRunHistory({ runs: () => runs, stats: new ServiceStats({ clock: now }), clock: now });
    const stop = api.start();
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      try {
        api.handle('main', decodeURIComponent(url.pathname.split('/')[3]!), url, res);
      } catch (e) {
        sendError(res, e, () => undefined);
      }
    });
    server.on('close', stop);
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { api, get: async (path: string) => { const res = await fetch(`${base}${path}`); return { status: res.status, body: (await res.json()) as Record<string, unknown> }; } };
  }

  it('answers the points with the interval, only newer ones after `after`, and 404 for an unknown run', async () => {
    let now = 50_000;
    const { get } = await serve([run('svc')], () => now);
    // start() took the first point; a second one 5 s later.
    now += 5000;
    const all = await get('/api/runs/svc/history');
    expect(all.status).toBe(200);
    expect(all.body).toEqual({ interval: 5, points: [{ t: 50, rps: 0, inFlight: 0, p50: 0, p99: 0, desired: 2, ready: 0 }] });
    expect((await get('/api/runs/svc/history?after=50')).body.points).toEqual([]);
    expect((await get('/api/runs/svc/history?after=49')).body.points).toHaveLength(1);
    expect((await get('/api/runs/svc/history?after=soon')).status).toBe(400);
    const missing = await get('/api/runs/nope/history');
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('RUN_NOT_FOUND');
  });
});
