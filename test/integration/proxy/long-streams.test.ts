/**
 * Long streams through the proxy (issue 14): the idle limit a route gets from the run settings and the daemon's
 * default (routeFor, as the route sync builds it) cuts only silence, never a stream that keeps sending, however long
 * it runs or however late its first byte comes. The fast tests shorten the limit through the same settings a service
 * or DSTACK_SERVICE_CLIENT_TIMEOUT sets; one test waits 90 s for a first token under the defaults, as an LLM's
 * prefill can.
 */
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { defaultStreamIdleMs } from '../../../src/core/runs/stream-idle.js';
import type { RunSettings } from '../../../src/core/state/schema.js';
import { routeFor } from '../../../src/daemon/reconcile/routes-sync.js';
import { replica, run, settings } from '../../unit/reconcile/fixtures.js';
import { auth, harness, startProxy, startUpstream, type Upstream } from './helpers.js';

const client = new Agent({ connections: 8, headersTimeout: 0, bodyTimeout: 0 });
afterAll(() => client.close());
const defer = harness();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The proxy with the route the control plane would build for a service on `up` (its settings, the daemon's env). */
async function serve(up: Upstream, over: Partial<RunSettings>, env: NodeJS.ProcessEnv) {
  const proxy = await startProxy(defer);
  const r = run({ status: 'running', settings: settings(over), replicas: [replica({ hostPort: up.port })] });
  const route = routeFor(r, { readTimeoutMs: defaultStreamIdleMs(env), connection: () => ({ replicaOrigin: (port: number) => ({ origin: `http://127.0.0.1:${port}` }) }) });
  proxy.routes.set(route);
  return { url: `${proxy.base}/proxy/services/main/svc/generate`, route };
}

/** SSE that waits `firstAfterMs` before its first token, then sends `tokens` more `everyMs` apart. */
function sse(res: ServerResponse, o: { firstAfterMs: number; tokens: number; everyMs: number; headersFirst?: boolean }): void {
  const head = () => res.writeHead(200, { 'content-type': 'text/event-stream' });
  if (o.headersFirst !== false) {
    head();
    res.flushHeaders();
  }
  void (async () => {
    await sleep(o.firstAfterMs);
    if (o.headersFirst === false) head();
    for (let i = 0; i < o.tokens; i++) {
      if (i > 0) await sleep(o.everyMs);
      res.write(`data: token-${i}\n\n`);
    }
    res.end('data: [DONE]\n\n');
  })();
}

const expected = (n: number) => `${Array.from({ length: n }, (_, i) => `data: token-${i}\n\n`).join('')}data: [DONE]\n\n`;

async function fetchText(url: string, body?: Readable): Promise<{ status: number; text: string; error?: string }> {
  const res = await request(url, { dispatcher: client, headers: auth, method: body ? 'POST' : 'GET', ...(body ? { body } : {}) });
  try {
    return { status: res.statusCode, text: await res.body.text() };
  } catch (e) {
    return { status: res.statusCode, text: '', error: (e as { code?: string }).code ?? String(e) };
  }
}

describe('the idle limit cuts silence, not streams', () => {
  it('a stream that keeps sending runs for many times the limit and arrives whole', async () => {
    const up = await startUpstream((_q, res) => sse(res, { firstAfterMs: 100, tokens: 12, everyMs: 100 }), defer);
    const { url, route } = await serve(up, { streamIdleTimeoutSeconds: 0.4 }, {});
    expect(route.readTimeoutMs).toBe(400);
    expect(await fetchText(url)).toEqual({ status: 200, text: expected(12) });
  });

  it("a first byte later than the daemon's default (DSTACK_SERVICE_CLIENT_TIMEOUT) arrives when the service's own limit allows it", async () => {
    const up = await startUpstream((_q, res) => sse(res, { firstAfterMs: 800, tokens: 2, everyMs: 10, headersFirst: false }), defer);
    const { url } = await serve(up, { streamIdleTimeoutSeconds: 3 }, { DSTACK_SERVICE_CLIENT_TIMEOUT: '0.3' });
    expect(await fetchText(url)).toEqual({ status: 200, text: expected(2) });
  });

  it('`off` (0) waits as long as it takes', async () => {
    const up = await startUpstream((_q, res) => sse(res, { firstAfterMs: 800, tokens: 1, everyMs: 10, headersFirst: false }), defer);
    const { url } = await serve(up, { streamIdleTimeoutSeconds: 0 }, { DSTACK_SERVICE_CLIENT_TIMEOUT: '0.3' });
    expect(await fetchText(url)).toEqual({ status: 200, text: expected(1) });
  });

  it('DSTACK_SERVICE_CLIENT_TIMEOUT still limits a service that sets nothing: 504 before the answer starts', async () => {
    const up = await startUpstream((_q, res) => sse(res, { firstAfterMs: 2_000, tokens: 1, everyMs: 10, headersFirst: false }), defer);
    const { url } = await serve(up, {}, { DSTACK_SERVICE_CLIENT_TIMEOUT: '0.3' });
    const r = await fetchText(url);
    expect(r.status).toBe(504);
    expect(r.text).toContain('Timed out requesting upstream');
  });

  it('silence in the middle of a stream longer than the limit cuts it: the client sees a truncated body', async () => {
    const up = await startUpstream((_q, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: token-0\n\n');
      const timer = setTimeout(() => res.end('data: [DONE]\n\n'), 3_000);
      res.on('close', () => clearTimeout(timer));
    }, defer);
    const { url } = await serve(up, { streamIdleTimeoutSeconds: 0.3 }, {});
    const r = await fetchText(url);
    expect(r.status).toBe(200);
    expect(r.error).toBeDefined();
  });

  it('a client still uploading is not idle: a slow request body longer than the limit is answered', async () => {
    const up = await startUpstream((req, res) => {
      let size = 0;
      req.on('data', (c: Buffer) => (size += c.length));
      req.on('end', () => res.end(`got ${size}`));
    }, defer);
    const { url } = await serve(up, { streamIdleTimeoutSeconds: 0.3 }, {});
    const body = Readable.from((async function* () {
      for (let i = 0; i < 10; i++) {
        yield Buffer.alloc(100, 1);
        await sleep(100);
      }
    })());
    expect(await fetchText(url, body)).toEqual({ status: 200, text: 'got 1000' });
  });
});

describe('under the defaults (no stream_idle_timeout, no DSTACK_SERVICE_CLIENT_TIMEOUT)', () => {
  it('a stream whose first token comes after 90 s is delivered whole', { timeout: 180_000 }, async () => {
    const up = await startUpstream((_q, res) => sse(res, { firstAfterMs: 90_000, tokens: 5, everyMs: 50 }), defer);
    const { url, route } = await serve(up, {}, {});
    expect(route.readTimeoutMs).toBe(600_000);
    expect(await fetchText(url)).toEqual({ status: 200, text: expected(5) });
  });
});
