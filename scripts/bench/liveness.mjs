/**
 * Bench section `liveness` (npm run bench liveness): issue 14's figure, with the built CLI (dist/main.js) and its
 * daemon on the test dockerd (`scripts/test-hosts.sh up 1`). A 2-replica service (probe every 1 s,
 * `failure_threshold: 3`) runs test/fixtures/liveness/flaky-server.mjs under a steady client load through the
 * proxy; one replica is flipped to answer 500, and the time from the flip to its last request served is the time it
 * took to leave routing (no request routed to it after that). The reference is the probe interval, measured from
 * the same server: the threshold-th failed probe it answered is when the daemon could know, so "after the
 * threshold-th probe" is what the daemon itself adds. The replica is mended between repetitions (the grace before
 * replacing is set far beyond the run), so every repetition flips a ready replica.
 * All times are the flaky server's own clock (containers share the host's), so no two clocks are compared.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { Agent, request } from 'undici';
import { fmt, freeLocalPort, median, rss } from './lib.mjs';

export const name = 'liveness';

const DOCKER_HOST = process.env.DSTACK_TEST_DOCKER_HOST ?? 'unix:///run/dstack-test/docker.sock';
const IMAGE = 'dstack-test/node:latest';
const SERVICE = 'bench-liveness';
const INTERVAL_MS = 1_000;
const THRESHOLD = 3;
/** Concurrent client loops: a request every few ms, so the last one served bounds the routing change tightly. */
const CLIENTS = 4;
const run$ = promisify(execFile);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const service = `type: service
name: ${SERVICE}
image: ${IMAGE}
env:
  - PORT=8000
commands:
  - node flaky-server.mjs
port: 8000
replicas: 2
auth: false
stop_duration: 1s
probes:
  - type: http
    url: /health
    interval: ${INTERVAL_MS / 1000}s
    timeout: 2s
    failure_threshold: ${THRESHOLD}
`;

/** Polls `check` every 50 ms until it returns a value; fails after `limitMs` naming `what`. */
async function until(what, check, limitMs = 60_000) {
  const deadline = performance.now() + limitMs;
  while (performance.now() < deadline) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(50);
  }
  throw new Error(`bench liveness: gave up waiting for ${what}`);
}

async function json(url, agent, method = 'GET') {
  const res = await request(url, { method, dispatcher: agent });
  return res.body.json();
}

/** CLIENTS loops of back-to-back requests through the proxy; counts answers by status and replica. */
function load(url, agent) {
  const counts = new Map();
  let stopped = false;
  const one = async () => {
    while (!stopped) {
      try {
        const res = await request(url, { dispatcher: agent });
        await res.body.dump();
        const key = `${res.statusCode} ${res.headers['x-replica'] ?? '-'}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      } catch {
        counts.set('error', (counts.get('error') ?? 0) + 1);
        // A failure without I/O settles as a microtask: pause so the loop cannot starve the event loop.
        await sleep(50);
      }
    }
  };
  const loops = Array.from({ length: CLIENTS }, one);
  return { counts, stop: async () => ((stopped = true), await Promise.all(loops)) };
}

export async function run(ctx = {}) {
  const root = ctx.root ?? process.cwd();
  const reps = ctx.runs ?? (ctx.quick ? 3 : 6);
  const log = ctx.log ?? ((m) => process.stderr.write(`[liveness] ${m}\n`));
  const docker = new Docker({ socketPath: DOCKER_HOST.replace(/^unix:\/\//, '') });
  await docker.getImage(IMAGE).inspect().catch(() => {
    throw new Error(`${IMAGE} is missing on ${DOCKER_HOST}: run \`sudo scripts/test-hosts.sh up 1\``);
  });
  const home = await mkdtemp(join(tmpdir(), 'dstack-bench-liveness-home-'));
  // The service's folder (shipped to /workflow): DSTACK_HOME is never packed, so it is a folder of its own.
  const dir = await mkdtemp(join(tmpdir(), 'dstack-bench-liveness-cfg-'));
  const port = await freeLocalPort();
  // Replacement is not what is measured: the grace outlasts the run, and each repetition mends the replica.
  const env = { ...process.env, DSTACK_HOME: home, DSTACK_SERVER_PORT: String(port), DOCKER_HOST, NO_COLOR: '1', DSTACK_UNHEALTHY_GRACE_SECONDS: '3600' };
  const dstack = async (...args) => (await run$(process.execPath, [join(root, 'dist/main.js'), ...args], { env, cwd: dir, maxBuffer: 16 * 2 ** 20 })).stdout;
  const agent = new Agent({ connections: 16 });
  const replicas = async () => JSON.parse(await dstack('ps', '-a', '--json')).runs.find((r) => r.name === SERVICE)?.replicas ?? [];
  let traffic;
  try {
    await copyFile(join(root, 'test/fixtures/liveness/flaky-server.mjs'), join(dir, 'flaky-server.mjs'));
    await writeFile(join(dir, 'liveness.dstack.yml'), service);
    await dstack('apply', '-f', join(dir, 'liveness.dstack.yml'), '-y');
    const containers = await docker.listContainers({ filters: { label: [`ai.dstack.run=${SERVICE}`] } });
    const victimPort = containers[0]?.Ports.find((p) => p.PrivatePort === 8000 && p.PublicPort)?.PublicPort;
    if (containers.length !== 2 || !victimPort) throw new Error(`expected 2 running replicas with a published port, found ${containers.length}`);
    const victim = `http://127.0.0.1:${victimPort}`;
    traffic = load(`http://127.0.0.1:${port}/proxy/services/main/${SERVICE}/work`, agent);
    const answering = () => [...traffic.counts.keys()].filter((k) => k.startsWith('200 '));
    await until('traffic on both replicas', async () => (answering().length === 2 ? true : undefined));

    const detect = [];
    const out = [];
    let servedAfter = 0;
    const daemonPid = JSON.parse(await readFile(join(home, 'server/daemon.json'), 'utf8')).pid;
    let rssFirst = NaN;
    let rssLast = NaN;
    for (let i = 0; i < reps; i++) {
      await until('both replicas ready and routed', async () => ((await replicas()).filter((r) => r.status === 'running' && r.ready && !r.unhealthy).length === 2 ? true : undefined));
      const { name: victimName } = await json(`${victim}/flip?healthy=0`, agent, 'POST');
      const sick = await until('the threshold-th failed probe', async () => {
        const s = await json(`${victim}/stats`, agent);
        return s.failedProbes >= THRESHOLD ? s : undefined;
      });
      // Let the other replica answer a good many more requests: any still routed to the victim would show.
      const otherKey = answering().find((k) => k !== `200 ${victimName}`);
      const base = traffic.counts.get(otherKey) ?? 0;
      await until('traffic on the other replica', async () => ((traffic.counts.get(otherKey) ?? 0) >= base + 200 ? true : undefined));
      const s = await json(`${victim}/stats`, agent);
      const thresholdAt = sick.failedProbesAt[THRESHOLD - 1];
      detect.push(thresholdAt - s.flippedAt);
      out.push((s.lastServedWhileBrokenAt ?? s.flippedAt) - s.flippedAt);
      servedAfter += s.servedWhileBroken.filter((n) => n >= THRESHOLD).length;
      log(`rep ${i + 1}: threshold probe after ${detect.at(-1)} ms, last request served after ${out.at(-1)} ms (${s.servedWhileBroken.length} served while broken)`);
      await json(`${victim}/flip?healthy=1`, agent, 'POST');
      if (i === 0) rssFirst = rss(daemonPid);
    }
    rssLast = rss(daemonPid);
    await traffic.stop();
    const errors = [...traffic.counts].filter(([k]) => !k.startsWith('200 ') && !k.startsWith('500 '));
    if (errors.length > 0) throw new Error(`the client saw answers other than 200/500: ${errors.map(([k, n]) => `${k} ×${n}`).join(', ')}`);
    const lag = out.map((o, i) => o - detect[i]);
    const row = (measure, xs, ref) => [measure, fmt.ms(median(xs)), fmt.ms(Math.min(...xs)), fmt.ms(Math.max(...xs)), fmt.ratio(median(xs) / INTERVAL_MS), ref];
    return {
      title: 'liveness: a ready replica failing its probe until it is out of routing (local backend, test dockerd)',
      columns: ['measure', 'median ms', 'min ms', 'max ms', '× interval', 'expected'],
      rows: [
        ['probe interval (reference)', fmt.ms(INTERVAL_MS), '', '', fmt.ratio(1), ''],
        row(`flip → failed probe #${THRESHOLD} answered (detection)`, detect, `${THRESHOLD - 1}–${THRESHOLD}× interval`),
        row('flip → last request served by it (out of routing)', out, '≈ detection'),
        row(`failed probe #${THRESHOLD} → last request served (the daemon's own reaction)`, lag, '≈ 0 (< 0: none after it)'),
        [`requests it served after failed probe #${THRESHOLD} (all repetitions)`, String(servedAfter), '', '', '', `≤ ${CLIENTS} a repetition (in flight)`],
      ],
      notes: [
        `${reps} repetitions on one service; ${CLIENTS} client loops of back-to-back requests through the proxy.`,
        `Probe every ${INTERVAL_MS} ms (the interval counts from the end of the previous probe), failure_threshold ${THRESHOLD}: detection lies between ${THRESHOLD - 1} and ${THRESHOLD} intervals after the flip.`,
        'Times are the flaky server\'s own clock: the flip, each failed probe it answered, the last request it served.',
        `Daemon RSS: ${fmt.mib(rssFirst)} MiB after the first repetition, ${fmt.mib(rssLast)} MiB after the last (a leak in the probe or route path would grow it).`,
      ],
    };
  } finally {
    await traffic?.stop();
    await dstack('stop', SERVICE, '-y', '-x').catch(() => undefined);
    await stopDaemon(home);
    for (const c of await docker.listContainers({ all: true, filters: { label: [`ai.dstack.run=${SERVICE}`] } }).catch(() => [])) {
      await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    }
    await agent.close();
    await rm(home, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
}

/** Ends the daemon and the local agent this section started, by their recorded pids. */
async function stopDaemon(home) {
  const pidOf = (file) => readFile(join(home, file), 'utf8').then((t) => JSON.parse(t).pid, () => undefined);
  for (const pid of [await pidOf('server/daemon.json'), await pidOf('server/local-agent/agent-process.json')]) {
    if (!pid) continue;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { markdownSection } = await import('./lib.mjs');
  process.stdout.write(markdownSection(await run({ root: join(import.meta.dirname, '..', '..') })));
}
