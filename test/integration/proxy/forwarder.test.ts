/**
 * The model endpoint's Forwarder (src/proxy/models/forward.ts) as an adapter over the one upstream attempt, with
 * real node:http upstreams: the same hold bounds and held counts as the service proxy over the same route table,
 * the same failure mapping (as DstackErrors), streaming with backpressure, and the replica released once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import type { StatsSink } from '../../../src/proxy/stats/stats-sink.js';
import { makeForwarder } from '../../../src/proxy/models/forward.js';
import { auth, deferred, echoHandler, harness, route, startProxy, startUpstream } from './helpers.js';

const client = new Agent({ connections: 4 });
afterAll(() => client.close());
const defer = harness();

const get = { method: 'GET', path: '/', headers: {} };

/** A StatsSink that records the statuses it was told, to check each request is counted once. */
function recordingStats(): StatsSink & { statuses: number[]; open: number } {
  const sink = {
    statuses: [] as number[],
    open: 0,
    onRequest: () => void sink.open++,
    onResponse: (_p: string, _r: string, _ms: number, status: number) => {
      sink.open--;
      sink.statuses.push(status);
    },
    inFlight: () => sink.open,
  };
  return sink;
}

async function drain(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

describe('forwarder cold start', () => {
  it('shares the per-service hold queue and the cold-start hook with the service proxy', async () => {
    const woken: string[] = [];
    const first = deferred();
    const onColdStart = (p: string, r: string) => {
      woken.push(`${p}/${r}`);
      first.resolve();
    };
    const proxy = await startProxy(defer, { maxHeldPerService: 2, onColdStart });
    proxy.routes.set(route({ replicas: [], canScaleFromZero: true }));
    const forward = makeForwarder(proxy.routes, { maxHeldPerService: 2, onColdStart });

    const viaProxy = request(`${proxy.base}/proxy/services/main/svc/a`, { dispatcher: client, headers: auth });
    await first.promise;
    const viaModels = forward('main', 'svc', { ...get, path: '/v1/models' });
    expect(proxy.routes.held.count('main/svc')).toBe(2);
    await expect(forward('main', 'svc', get)).rejects.toMatchObject({
      code: 'SCALE_UP_QUEUE_FULL',
      status: 503,
      hint: 'retry after 5 s',
    });

    const up = await startUpstream(echoHandler('late'), defer);
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }], canScaleFromZero: true }));
    const [res, fwd] = await Promise.all([viaProxy, viaModels]);
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(fwd.statusCode).toBe(200);
    expect(JSON.parse((await drain(fwd.body)).toString())).toMatchObject({ replica: 'late', url: '/v1/models' });
    expect(woken).toEqual(['main/svc']);
    expect(proxy.routes.upstreams.outstanding('a')).toBe(0);
  });

  it('rejects 503 NO_READY_REPLICAS after the hold timeout, and 499 when the caller aborts while held', async () => {
    const proxy = await startProxy(defer);
    proxy.routes.set(route({ replicas: [], canScaleFromZero: true }));
    const stats = recordingStats();
    const quick = makeForwarder(proxy.routes, { holdTimeoutMs: 50, stats });
    await expect(quick('main', 'svc', get)).rejects.toMatchObject({ code: 'NO_READY_REPLICAS', status: 503, hint: 'retry after 5 s' });

    const woken = deferred();
    const forward = makeForwarder(proxy.routes, { stats, onColdStart: () => woken.resolve() });
    const abort = new AbortController();
    const held = forward('main', 'svc', { ...get, signal: abort.signal });
    await woken.promise;
    abort.abort();
    await expect(held).rejects.toMatchObject({ code: 'REQUEST_ABORTED', status: 499 });
    expect(proxy.routes.held.count('main/svc')).toBe(0);
    await expect(forward('main', 'svc', { ...get, signal: abort.signal })).rejects.toMatchObject({ status: 499 });
    expect(stats.statuses).toEqual([503, 499, 499]);
    expect(stats.open).toBe(0);
  });
});

describe('forwarder responses and failures', () => {
  it('streams a 5 MB answer with backpressure, byte for byte, and releases the replica at the end', async () => {
    const payload = randomBytes(5 * 1024 * 1024);
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-replica': 'big' });
      res.end(payload);
    }, defer);
    const proxy = await startProxy(defer);
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }] }));
    const stats = recordingStats();
    const res = await makeForwarder(proxy.routes, { stats })('main', 'svc', { method: 'POST', path: '/big', headers: {}, body: 'x' });
    expect(res.headers['x-replica']).toBe('big');
    expect(proxy.routes.upstreams.outstanding('a')).toBe(1);
    const back = await drain(res.body);
    expect(createHash('sha256').update(back).digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
    expect(proxy.routes.upstreams.outstanding('a')).toBe(0);
    expect(stats.statuses).toEqual([200]);
  });

  it('aborts the replica and releases it once when the consumer drops the body early', async () => {
    const replicaSawClose = deferred<boolean>();
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
      res.on('close', () => replicaSawClose.resolve(res.writableFinished));
    }, defer);
    const proxy = await startProxy(defer);
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }] }));
    const stats = recordingStats();
    const res = await makeForwarder(proxy.routes, { stats })('main', 'svc', get);
    for await (const chunk of res.body) {
      expect(String(chunk)).toContain('data: 1');
      break; // for-await's return() destroys the body, as the models endpoint does when its client leaves
    }
    expect(await replicaSawClose.promise).toBe(false);
    await proxy.routes.drain('a');
    expect(proxy.routes.upstreams.outstanding('a')).toBe(0);
    expect(stats.statuses).toEqual([499]);
  });

  it('maps a headers timeout to 504 UPSTREAM_TIMEOUT and an unknown run to 404', async () => {
    const up = await startUpstream(() => undefined, defer);
    const proxy = await startProxy(defer);
    proxy.routes.set(route({ readTimeoutMs: 50, replicas: [{ id: 'a', origin: up.origin }] }));
    const forward = makeForwarder(proxy.routes);
    await expect(forward('main', 'svc', get)).rejects.toMatchObject({ code: 'UPSTREAM_TIMEOUT', status: 504 });
    expect(proxy.routes.upstreams.outstanding('a')).toBe(0);
    await expect(forward('main', 'nope', get)).rejects.toMatchObject({ code: 'SERVICE_NOT_FOUND', status: 404 });
  });
});
