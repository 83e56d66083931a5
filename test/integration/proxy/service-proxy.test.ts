/**
 * The service proxy against real node:http upstreams on 127.0.0.1:0: routing, auth, paths, headers, bodies.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import { Agent, request } from 'undici';
import { ServiceStats } from '../../../src/proxy/stats/service-stats.js';
import { auth, echoHandler, harness, route, startProxy, startUpstream } from './helpers.js';

const client = new Agent({ connections: 16 });
afterAll(() => client.close());
const defer = harness();

const get = (url: string, headers: Record<string, string> = {}) =>
  request(url, { dispatcher: client, headers, maxRedirections: 0 } as Parameters<typeof request>[1]);

function rawGet(port: number, path: string, headers: Record<string, string>): Promise<{ headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ headers: res.headers, body }));
    });
    req.on('error', reject).end();
  });
}

async function oneService(overrides: Parameters<typeof route>[0] extends infer R ? Partial<R> : never = {}) {
  const up = await startUpstream(echoHandler('A'), defer);
  const proxy = await startProxy(defer);
  proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }], ...overrides }));
  return proxy;
}

describe('service proxy routing and auth', () => {
  it('redirects /proxy/services/<p>/<run> to the slash form with 308, keeping the query', async () => {
    const proxy = await oneService();
    const res = await get(`${proxy.base}/proxy/services/main/svc?x=1&y=2`);
    expect(res.statusCode).toBe(308);
    expect(res.headers.location).toBe('/proxy/services/main/svc/?x=1&y=2');
    await res.body.dump();
  });

  it('answers 401 with WWW-Authenticate when the token is missing, 403 when it is wrong', async () => {
    const proxy = await oneService();
    const missing = await get(`${proxy.base}/proxy/services/main/svc/`);
    expect(missing.statusCode).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer');
    expect(await missing.body.json()).toEqual({ detail: 'Not authenticated' });
    const wrong = await get(`${proxy.base}/proxy/services/main/svc/`, { authorization: 'Bearer nope' });
    expect(wrong.statusCode).toBe(403);
    expect(await wrong.body.json()).toEqual({ detail: 'Unauthenticated or unauthorized to access project main' });
    const ok = await get(`${proxy.base}/proxy/services/main/svc/`, auth);
    expect(ok.statusCode).toBe(200);
    await ok.body.dump();
  });

  it('lets requests through without a token when the route has auth: false', async () => {
    const proxy = await oneService({ auth: false });
    const res = await get(`${proxy.base}/proxy/services/main/svc/hello`);
    expect(res.statusCode).toBe(200);
    expect((await res.body.json() as { url: string }).url).toBe('/hello');
  });

  it('answers JSON 404 for an unknown service and for paths outside the proxy', async () => {
    const proxy = await oneService();
    const unknown = await get(`${proxy.base}/proxy/services/main/other/`, auth);
    expect(unknown.statusCode).toBe(404);
    expect(await unknown.body.json()).toEqual({ detail: 'Service main/other not found' });
    const elsewhere = await get(`${proxy.base}/nothing/here`);
    expect(elsewhere.statusCode).toBe(404);
    expect(await elsewhere.body.json()).toEqual({ detail: 'Not Found' });
  });

  it('hands /api/*, /metrics and /proxy/models/* to the plugged-in handlers', async () => {
    const seen: string[] = [];
    const proxy = await startProxy(defer, {
      controlApi: (req, res) => { seen.push(`control ${req.url}`); res.end('c'); },
      modelsApi: (req, res) => { seen.push(`models ${req.url}`); res.end('m'); },
    });
    for (const path of ['/api/runs', '/metrics', '/proxy/models/main/v1/models']) {
      const res = await get(`${proxy.base}${path}`);
      await res.body.dump();
    }
    expect(seen).toEqual(['control /api/runs', 'control /metrics', 'models /proxy/models/main/v1/models']);
  });
});

describe('paths and headers', () => {
  it('strips the service prefix (keeping the query) with strip_prefix: true, and keeps the full path with false', async () => {
    const stripped = await oneService({ stripPrefix: true });
    const a = await get(`${stripped.base}/proxy/services/main/svc/v1/models?limit=2`, auth);
    expect((await a.body.json() as { url: string }).url).toBe('/v1/models?limit=2');

    const kept = await oneService({ run: 'full', stripPrefix: false });
    const b = await get(`${kept.base}/proxy/services/main/full/v1/models?limit=2`, auth);
    expect((await b.body.json() as { url: string }).url).toBe('/proxy/services/main/full/v1/models?limit=2');
  });

  it('adds X-Forwarded-* and drops hop-by-hop fields both ways (RFC 9110 §7.6.1)', async () => {
    const proxy = await oneService();
    // node:http sends a Connection header listing extra fields as given (undici's client refuses to).
    const res = await rawGet(proxy.port, '/proxy/services/main/svc/h', {
      ...auth,
      connection: 'keep-alive, x-client-hop',
      'x-client-hop': 'drop me',
      'x-forwarded-for': '203.0.113.7',
      'x-kept': 'yes',
    });
    const { headers } = JSON.parse(res.body) as { headers: Record<string, string> };
    expect(headers['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
    expect(headers['x-forwarded-proto']).toBe('http');
    expect(headers['x-forwarded-host']).toBe(`127.0.0.1:${proxy.port}`);
    expect(headers['x-forwarded-prefix']).toBe('/proxy/services/main/svc');
    expect(headers['x-kept']).toBe('yes');
    expect(headers.authorization).toBeUndefined(); // auth: true, so the proxy consumed the token
    expect(headers['x-client-hop']).toBeUndefined();
    // Response side: the upstream's Connection-listed field and Keep-Alive do not reach the client.
    expect(res.headers['x-upstream-hop']).toBeUndefined();
    expect(res.headers['keep-alive']).not.toBe('timeout=5');
  });

  it('forwards every method', async () => {
    const proxy = await oneService();
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const) {
      const res = await request(`${proxy.base}/proxy/services/main/svc/m`, { dispatcher: client, method, headers: auth, body: method === 'GET' || method === 'OPTIONS' ? null : 'x' });
      expect((await res.body.json() as { method: string }).method).toBe(method);
    }
    const head = await request(`${proxy.base}/proxy/services/main/svc/m`, { dispatcher: client, method: 'HEAD', headers: auth });
    expect(head.statusCode).toBe(200);
    await head.body.dump();
  });

  it('streams a 5 MB request body to the replica and its answer back, byte for byte', async () => {
    const up = await startUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
    }, defer);
    const proxy = await startProxy(defer);
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }] }));
    const payload = randomBytes(5 * 1024 * 1024);
    const res = await request(`${proxy.base}/proxy/services/main/svc/upload`, { dispatcher: client, method: 'POST', headers: auth, body: payload });
    expect(res.statusCode).toBe(200);
    const back = Buffer.from(await res.body.arrayBuffer());
    expect(back.length).toBe(payload.length);
    expect(createHash('sha256').update(back).digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
  });

  it('counts only requests that passed auth in the stats sink', async () => {
    const up = await startUpstream(echoHandler('A'), defer);
    const stats = new ServiceStats({ clock: () => 5_000 });
    const proxy = await startProxy(defer, { stats, clock: () => 5_000 });
    proxy.routes.set(route({ replicas: [{ id: 'a', origin: up.origin }] }));
    await (await get(`${proxy.base}/proxy/services/main/svc/`)).body.dump();
    await (await get(`${proxy.base}/proxy/services/main/svc/`, { authorization: 'Bearer bad' })).body.dump();
    await (await get(`${proxy.base}/proxy/services/main/svc/`, auth)).body.dump();
    await (await get(`${proxy.base}/proxy/services/main/svc/`, auth)).body.dump();
    const snap = stats.snapshot('main', 'svc', 6_000);
    expect(snap.rps30 * 30).toBe(2);
  });
});
