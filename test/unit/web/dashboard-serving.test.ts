/** The daemon's dashboard handler on a real node:http server (port 0): paths, caching, CSP, gzip, lazy loading. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createDashboard, DASHBOARD_CSP } from '../../../src/daemon/api/dashboard.js';
import type { WebAssets } from '../../../src/web/assets.js';

const ASSETS: WebAssets = { js: 'console.log("dashboard");', css: 'body{color:red}' };
let server: Server | undefined;

async function serve(load: () => Promise<WebAssets | undefined>): Promise<{ base: string; loads: () => number }> {
  let loads = 0;
  const dashboard = createDashboard({ load: () => (loads++, load()) });
  server = createServer((req, res) => {
    if (!dashboard(req, res)) res.writeHead(404, { 'content-type': 'application/json' }).end('{"detail":"Not Found"}');
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, loads: () => loads };
}

afterEach(async () => {
  await new Promise((r) => server?.close(r));
  server = undefined;
});

describe('the dashboard handler', () => {
  it('answers index.html with a strict CSP and hashed asset names that are cached for good', async () => {
    const { base, loads } = await serve(async () => ASSETS);
    const index = await request(`${base}/`);
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).toMatch(/^default-src 'self'/);
    expect(index.headers['cache-control']).toBe('no-cache');
    const html = await index.body.text();
    const js = /src="(\/ui\/app\.[0-9a-f]{12}\.js)"/.exec(html)?.[1];
    const css = /href="(\/ui\/app\.[0-9a-f]{12}\.css)"/.exec(html)?.[1];
    expect(js && css).toBeTruthy();

    const script = await request(`${base}${js}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.headers['cache-control']).toContain('immutable');
    expect(script.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(Buffer.from(await script.body.arrayBuffer())).toString()).toBe(ASSETS.js);
    const style = await request(`${base}${css}`);
    expect(style.headers['content-encoding']).toBeUndefined();
    expect(await style.body.text()).toBe(ASSETS.css);

    const again = await request(`${base}/ui/`, { headers: { 'if-none-match': String(index.headers.etag) } });
    expect(again.statusCode).toBe(304);
    await again.body.dump();
    // The bundle is read once, on the first dashboard request.
    expect(loads()).toBe(1);
  });

  it('leaves other paths to the listener, refuses writes, and answers 404 for unknown assets', async () => {
    const { base, loads } = await serve(async () => ASSETS);
    const other = await request(`${base}/proxy/nothing`);
    expect(other.statusCode).toBe(404);
    expect(await other.body.text()).toBe('{"detail":"Not Found"}');
    expect(loads()).toBe(0);
    const post = await request(`${base}/`, { method: 'POST', body: 'x' });
    expect(post.statusCode).toBe(405);
    await post.body.dump();
    const missing = await request(`${base}/ui/app.000000000000.js`);
    expect(missing.statusCode).toBe(404);
    await missing.body.dump();
  });

  it('says how to build it when the daemon runs from source without the bundle', async () => {
    const { base } = await serve(async () => undefined);
    const res = await request(`${base}/`);
    expect(res.statusCode).toBe(503);
    expect(await res.body.text()).toContain('npm run build');
  });
});
