/**
 * Bench entry: our proxy in its own process, auth on, one service `main/svc` routed to UPSTREAM, with the stats
 * sink counting as in the daemon. Bundled by scripts/bench/proxy.mjs with esbuild; prints `{"port":N}` when ready.
 */
import { createProxyServer } from '../../src/proxy/http/server.js';
import { makeAuthenticate } from '../../src/proxy/http/auth.js';
import { MemoryRouteTable } from '../../src/proxy/routing/route-table.js';
import { ServiceStats } from '../../src/proxy/stats/service-stats.js';

const upstream = process.env.UPSTREAM;
const token = process.env.TOKEN;
if (!upstream || !token) throw new Error('UPSTREAM and TOKEN must be set');

const routes = new MemoryRouteTable({ connections: 1024 });
routes.set({
  project: 'main',
  run: 'svc',
  auth: true,
  stripPrefix: true,
  replicas: [{ id: 'r0', origin: upstream }],
  rateLimits: [],
  canScaleFromZero: false,
  readTimeoutMs: 60_000,
});
const tokens = new Map([['main', [token]]]);
const proxy = createProxyServer({ routes, authenticate: makeAuthenticate(() => tokens), stats: new ServiceStats() });
// No top-level await: the bench bundles this file as CommonJS (undici is CommonJS).
void proxy.listen(0, '127.0.0.1').then(({ port }) => process.stdout.write(`${JSON.stringify({ port })}\n`));
process.on('SIGTERM', () => {
  void proxy.close().then(() => routes.close()).then(() => process.exit(0));
});
