/**
 * Bench entry for `proxy_workers: N`: the daemon's primary side (startProxyWorkers) in its own process with WORKERS
 * worker processes (WORKER_SCRIPT, the bundled worker entry), auth on, stats summed in the primary, one service
 * `main/svc` routed to UPSTREAM. Bundled by scripts/bench/proxy-workers.mjs; prints `{"port":N}` when ready.
 */
import { startProxyWorkers } from '../../src/daemon/assemble/proxy-workers.js';
import { makeAuthenticate } from '../../src/proxy/http/auth.js';
import { createProxyServer } from '../../src/proxy/http/server.js';
import { MemoryRouteTable } from '../../src/proxy/routing/route-table.js';
import { ServiceStats } from '../../src/proxy/stats/service-stats.js';

const { UPSTREAM: upstream, TOKEN: token, WORKER_SCRIPT: script, SOCKET: socketPath } = process.env;
if (!upstream || !token || !script || !socketPath) throw new Error('UPSTREAM, TOKEN, WORKER_SCRIPT and SOCKET must be set');

const routes = new MemoryRouteTable();
routes.set({ project: 'main', run: 'svc', auth: true, stripPrefix: true, replicas: [{ id: 'r0', origin: upstream }], rateLimits: [], canScaleFromZero: false, readTimeoutMs: 60_000 });
const tokens: [string, string[]][] = [['main', [token]]];
const stats = new ServiceStats();
const plane = createProxyServer({ routes, authenticate: makeAuthenticate(() => new Map(tokens)), stats });
const workers = await startProxyWorkers({
  count: Number(process.env.WORKERS ?? 2),
  port: 0,
  host: '127.0.0.1',
  socketPath,
  argv: [script],
  env: process.env,
  plane,
  routes,
  tokens: () => tokens,
  models: () => [],
  stats,
  onColdStart: () => undefined,
  hold: {},
  log: (line) => process.stderr.write(`${line}\n`),
});
process.stdout.write(`${JSON.stringify({ port: workers.port, pids: workers.pids() })}\n`);
process.on('SIGTERM', () => {
  void workers.close().then(() => plane.close()).then(() => routes.close()).then(() => process.exit(0));
});
