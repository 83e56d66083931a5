/**
 * Bench entry: our proxy in its own process, auth on, one service `main/svc` routed to UPSTREAM, with the stats
 * sink counting as in the daemon. Bundled by scripts/bench/proxy.mjs with esbuild; prints `{"port":N}` when ready.
 * With CPU_PROFILE=<file>, SIGUSR2 starts a CPU profile and the next SIGUSR2 writes it to the file, so the profile
 * covers exactly the bench's load run (not startup or warm-up); each step prints a JSON line.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
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

const profilePath = process.env.CPU_PROFILE;
if (profilePath) {
  const session = new Session();
  session.connect();
  let profiling = false;
  process.on('SIGUSR2', () => {
    if (!profiling) {
      profiling = true;
      session.post('Profiler.enable', () =>
        session.post('Profiler.setSamplingInterval', { interval: 200 }, () =>
          session.post('Profiler.start', () => process.stdout.write(`${JSON.stringify({ profiling: true })}\n`)),
        ),
      );
      return;
    }
    profiling = false;
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(profilePath, JSON.stringify(result.profile));
      process.stdout.write(`${JSON.stringify({ profile: err ? null : profilePath })}\n`);
    });
  });
}
