// Bench section `growth` (issue 15): how the daemon's costs grow with the number of services. It applies 10, 50
// and 100 small services (2 replicas each: busybox `httpd` in dstack-test/busybox on the test dockerd) through the
// HTTP API in parallel batches, waits until every replica is ready, and reports per size: daemon RSS, daemon CPU
// at idle (from /proc/<pid>/stat over ~10 s), `dstack ps --json` latency, the `GET /api/runs` latency behind it,
// proxy requests/s to one service while the others exist (wrk), and apply-to-ready of one more service (the
// first proxied 200). The 10-service figures are the reference. `GROWTH_SIZES=10,50` shrinks it for quick runs.
// Needs the test dockerd (`scripts/test-hosts.sh up 1`), wrk, and `npm run build` (dist/main.js, or GROWTH_DIST).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { daemonApi, fmt, freeLocalPort, median, rss } from './lib.mjs';

export const name = 'growth';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCKER_HOST = process.env.DSTACK_TEST_DOCKER_HOST ?? 'unix:///run/dstack-test/docker.sock';
const IMAGE = 'dstack-test/busybox:latest';
const TARGET_IMAGE = 'dstack-test/node:latest';
const BATCH = 10;
const IDLE_S = 10;
const GOALS = { rssMiB: 150, idleCpuPct: 2, latencyRatio: 1.5 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The services that only exist run busybox httpd (no keep-alive: a fork per connection); the one wrk measures runs
 * the node echo server, so that its own cost does not hide the proxy's. */
const service = (svc, target = false) => ({
  type: 'service',
  name: svc,
  image: target ? TARGET_IMAGE : IMAGE,
  ...(target ? { env: ['PORT=8000'], commands: ['node /srv/http-echo.mjs'] } : { commands: ['mkdir -p /tmp/www', 'echo ok > /tmp/www/index.html', 'exec httpd -f -p 8000 -h /tmp/www'] }),
  port: 8000,
  auth: false,
  replicas: 2,
  stop_duration: '1s',
});

/** CPU seconds (user + system) the process has used so far: fields 14 and 15 of /proc/<pid>/stat, in clock ticks. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(process.env.CLK_TCK) || 100;
  return (Number(fields[11]) + Number(fields[12])) / ticks;
}

/** wrk -t1 against one URL; requests/s. */
function wrkRps(url, connections, seconds) {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.once('error', reject);
    child.once('exit', (code) => {
      const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
      if (code !== 0 || !m) return reject(new Error(`bench growth: wrk failed (${code}): ${out}`));
      if (/Non-2xx|Socket errors/.test(out)) return reject(new Error(`bench growth: wrk saw errors: ${out}`));
      resolve(Number(m[1]));
    });
  });
}

/** The reference for apply-to-ready: the same container alone, created and started on the same dockerd, until it answers. */
async function containerStart(docker) {
  const t0 = performance.now();
  const spec = service('ref');
  const c = await docker.createContainer({
    Image: IMAGE,
    Cmd: ['sh', '-c', spec.commands.join(' && ')],
    Labels: { 'dstack.bench': 'growth' },
    ExposedPorts: { '8000/tcp': {} },
    HostConfig: { PortBindings: { '8000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
  });
  try {
    await c.start();
    const port = (await c.inspect()).NetworkSettings.Ports['8000/tcp'][0].HostPort;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.arrayBuffer().then(() => r.status === 200),
        () => false,
      );
      if (ok) return performance.now() - t0;
      if (performance.now() - t0 > 60_000) throw new Error('bench growth: the reference container did not answer within 60 s');
      await sleep(20);
    }
  } finally {
    await c.remove({ force: true }).catch(() => undefined);
  }
}

export async function run(ctx = {}) {
  const log = ctx.log ?? ((m) => process.stderr.write(`[growth] ${m}\n`));
  const sizes = (process.env.GROWTH_SIZES ?? '10,50,100').split(',').map(Number).filter((n) => n > 0).sort((a, b) => a - b);
  const psRuns = ctx.runs ?? (ctx.quick ? 3 : 5);
  const wrkSeconds = ctx.seconds ?? (ctx.quick ? 2 : 4);
  // GROWTH_DIST: a copy of dist/ to run, so that a rebuild of the shared dist/ during the run does not break it.
  const cli = join(process.env.GROWTH_DIST ?? join(ROOT, 'dist'), 'main.js');
  if (!existsSync(cli)) throw new Error(`bench growth: ${cli} is missing: run npm run build`);
  const docker = new Docker({ socketPath: DOCKER_HOST.replace(/^unix:\/\//, '') });
  for (const image of [IMAGE, TARGET_IMAGE]) {
    await docker.getImage(image).inspect().catch(() => {
      throw new Error(`bench growth: ${image} is missing on ${DOCKER_HOST}: run \`sudo scripts/test-hosts.sh up 1\``);
    });
  }
  const home = await mkdtemp(join(tmpdir(), 'bench-growth-home-'));
  const port = await freeLocalPort();
  const token = randomBytes(24).toString('base64url');
  const config = { version: 1, default_project: 'main', user: 'bench', token, server: { host: '127.0.0.1', port }, projects: [{ name: 'main', tokens: [], backends: [] }] };
  await writeFile(join(home, 'config.yml'), JSON.stringify(config), { mode: 0o600 });
  const env = { ...process.env, DSTACK_HOME: home, DSTACK_SERVER_PORT: String(port), DOCKER_HOST, NO_COLOR: '1' };
  delete env.CI;
  // GROWTH_DAEMON_FLAGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`, or `--heapsnapshot-signal=SIGUSR2
  // --diagnostic-dir=/tmp/h` for a heap snapshot after each size): the daemon is started here, not by the CLI, with
  // those node flags (NODE_OPTIONS refuses --cpu-prof).
  const daemonFlags = (process.env.GROWTH_DAEMON_FLAGS ?? '').split(' ').filter(Boolean);
  const daemon = { url: `http://127.0.0.1:${port}` };
  const api = (method, path, body) => daemonApi('growth', daemon, token, method, path, body);
  const dstack = (args) => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [cli, ...args], { env, cwd: home, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
    if (r.status !== 0) throw new Error(`bench growth: dstack ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return performance.now() - t0;
  };
  const prefix = `g${randomBytes(2).toString('hex')}`;
  const applied = [];
  const isReady = (v) => v.status === 'running' && v.replicas.filter((r) => r.status === 'running' && r.ready).length >= 2;
  const waitAllReady = async (limitMs) => {
    const deadline = Date.now() + limitMs;
    for (;;) {
      const { runs } = await api('GET', '/api/runs');
      const ready = new Set(runs.filter(isReady).map((r) => r.name));
      const missing = applied.filter((n) => !ready.has(n));
      if (missing.length === 0) return;
      if (Date.now() > deadline) throw new Error(`bench growth: ${missing.length} services not ready (e.g. ${missing[0]})`);
      await sleep(500);
    }
  };
  const serviceUrl = (svc) => `${daemon.url}/proxy/services/main/${svc}/`;
  const answers = async (svc) => {
    try {
      const res = await fetch(serviceUrl(svc), { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  };
  const daemonPid = () => JSON.parse(readFileSync(join(home, 'server/daemon.json'), 'utf8')).pid;
  const rows = [];
  // `timeout` or ^C would otherwise leave 200 containers and a daemon behind; a signal during the cleanup waits for it.
  let cleaning;
  const cleanOnce = () => (cleaning ??= cleanup({ home, docker, log }));
  const interrupted = (signal) => {
    log(`${signal}: cleaning up`);
    void cleanOnce().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    if (daemonFlags.length > 0) {
      spawn(process.execPath, [...daemonFlags, cli, 'server'], { env, cwd: home, detached: true, stdio: 'ignore' }).unref();
      for (let i = 0; i < 200 && !existsSync(join(home, 'server/daemon.json')); i++) await sleep(50);
    }
    dstack(['ps', '--json']); // starts the daemon (unless started above)
    const pid = daemonPid();
    let extra = 0;
    for (const size of sizes) {
      const t0 = performance.now();
      const wanted = Array.from({ length: size - applied.length }, (_, i) => `${prefix}-${applied.length + i}`);
      for (let i = 0; i < wanted.length; i += BATCH) {
        const batch = wanted.slice(i, i + BATCH);
        await Promise.all(batch.map((svc) => api('POST', '/api/runs/apply', { config: service(svc, svc === `${prefix}-0`), force: false })));
        applied.push(...batch);
      }
      await waitAllReady(240_000);
      log(`${size} services ready (${((performance.now() - t0) / 1000).toFixed(1)} s to apply and start ${wanted.length})`);
      await sleep(2000); // the last probes' writes and the routes settle
      const stateFile = join(home, 'server/state.json');
      const stateBefore = statSync(stateFile).mtimeMs;
      const cpu0 = cpuSeconds(pid);
      const w0 = performance.now();
      await sleep(IDLE_S * 1000);
      const idleCpuPct = ((cpuSeconds(pid) - cpu0) / ((performance.now() - w0) / 1000)) * 100;
      const idleWrites = statSync(stateFile).mtimeMs !== stateBefore;
      const stateKiB = statSync(stateFile).size / 1024;
      const rssMiB = rss(pid);
      dstack(['ps', '--json']);
      const ps = median(Array.from({ length: psRuns }, () => dstack(['ps', '--json'])));
      const list = median(
        await (async () => {
          const xs = [];
          for (let i = 0; i < psRuns * 2; i++) {
            const s = performance.now();
            await api('GET', '/api/runs');
            xs.push(performance.now() - s);
          }
          return xs;
        })(),
      );
      await wrkRps(serviceUrl(applied[0]), 16, 1); // warm-up
      const rps = await wrkRps(serviceUrl(applied[0]), 16, wrkSeconds);
      const one = `${prefix}-extra${extra++}`;
      const a0 = performance.now();
      await api('POST', '/api/runs/apply', { config: service(one), force: false });
      while (!(await answers(one))) {
        if (performance.now() - a0 > 60_000) throw new Error(`bench growth: ${one} did not answer within 60 s`);
        await sleep(20);
      }
      const applyToReady = performance.now() - a0;
      await api('POST', `/api/runs/${one}/stop`, { abort: true });
      const container = await containerStart(docker);
      if (daemonFlags.includes('--heapsnapshot-signal=SIGUSR2')) {
        process.kill(pid, 'SIGUSR2');
        await sleep(15_000);
      }
      rows.push({ size, rssMiB, idleCpuPct, ps, list, rps, applyToReady, container, overhead: applyToReady - container, idleWrites, stateKiB });
      log(`${size}: rss ${fmt.mib(rssMiB)} MiB, idle cpu ${idleCpuPct.toFixed(2)}%${idleWrites ? ' (state written at idle)' : ''}, ps ${fmt.ms(ps)} ms, GET /api/runs ${fmt.ms(list)} ms, ${rps.toFixed(0)} req/s, apply-to-ready ${fmt.ms(applyToReady)} ms (container alone ${fmt.ms(container)} ms)`);
    }
  } finally {
    await cleanOnce();
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
  return table(rows, wrkSeconds, psRuns);
}

function table(rows, wrkSeconds, psRuns) {
  const ref = rows[0];
  const metrics = [
    ['daemon RSS (MiB)', 'rssMiB', fmt.mib, 'ratio'],
    ['daemon CPU at idle (% of one core)', 'idleCpuPct', (n) => n.toFixed(2), 'ratio'],
    [`\`dstack ps --json\` (median of ${psRuns}, ms)`, 'ps', fmt.ms, 'latency'],
    [`\`GET /api/runs\` (median of ${psRuns * 2}, ms)`, 'list', fmt.ms, 'latency'],
    [`proxy req/s to one service (node echo server, wrk -c16, ${wrkSeconds} s)`, 'rps', (n) => n.toFixed(0), 'throughput'],
    ['apply-to-ready of one more service (first proxied 200, ms)', 'applyToReady', fmt.ms, 'latency'],
    ['the same container alone: docker create + start until it answers (reference, ms)', 'container', fmt.ms, 'reference'],
    ['apply-to-ready minus the container alone (the daemon\'s part, ms)', 'overhead', fmt.ms, 'latency'],
    ['state.json size (KiB)', 'stateKiB', (n) => n.toFixed(0), 'size'],
  ];
  const out = metrics.map(([label, key, f]) => [label, ...rows.map((r) => `${f(r[key])}${r === ref ? '' : ` (${fmt.ratio(r[key] / ref[key])})`}`)]);
  const last = rows[rows.length - 1];
  const notes = [];
  const latencyKeys = ['ps', 'list', 'applyToReady', 'overhead'];
  const slow = latencyKeys.filter((k) => last[k] / ref[k] > GOALS.latencyRatio);
  const rpsDrop = ref.rps / last.rps > GOALS.latencyRatio;
  notes.push(
    `Goal RSS ≤ ${GOALS.rssMiB} MiB at ${last.size} services: ${fmt.mib(last.rssMiB)} MiB, ${last.rssMiB <= GOALS.rssMiB ? 'met' : 'NOT met'}.`,
    `Goal idle CPU ≤ ${GOALS.idleCpuPct}% of one core: ${rows.map((r) => `${r.idleCpuPct.toFixed(2)}% at ${r.size}`).join(', ')}, ${rows.every((r) => r.idleCpuPct <= GOALS.idleCpuPct) ? 'met' : 'NOT met'}.`,
    `Goal every latency within ${GOALS.latencyRatio}× of its ${ref.size}-service figure (req/s: within 1/${GOALS.latencyRatio}): ${slow.length === 0 && !rpsDrop ? 'met' : `NOT met (${[...slow, ...(rpsDrop ? ['rps'] : [])].join(', ')})`}.`,
    `state.json rewritten during the ${IDLE_S} s idle window: ${rows.map((r) => `${r.idleWrites ? 'yes' : 'no'} at ${r.size}`).join(', ')}.`,
    'Figures in parentheses are ratios to the first column, measured in the same run. This box is shared (2 cores, other work running): compare ratios, not absolutes.',
  );
  return { title: 'Growth: the daemon with 10/50/100 services (2 busybox httpd replicas each, local Docker)', columns: ['figure', ...rows.map((r) => `${r.size} services`)], rows: out, notes };
}

/**
 * Ends the daemon and its agent, then removes every container that agent made (the replicas outlive both): faster
 * than stopping 200 replicas through the API, and complete even when the run failed halfway.
 */
async function cleanup({ home, docker, log }) {
  const read = (f) => readFile(join(home, f), 'utf8').then(JSON.parse, () => undefined);
  const daemon = await read('server/daemon.json');
  const agent = await read('server/local-agent/agent-process.json');
  for (const pid of [daemon?.pid, agent?.pid]) {
    if (!pid) continue;
    try {
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 200 && existsSync(`/proc/${pid}`); i++) await sleep(50);
      if (existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (agent?.agentId) {
    const left = await docker.listContainers({ all: true, filters: { label: [`ai.dstack.agent=${agent.agentId}`] } }).catch(() => []);
    log(`cleanup: removing ${left.length} containers`);
    for (let i = 0; i < left.length; i += 20) await Promise.all(left.slice(i, i + 20).map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  }
  await rm(home, { recursive: true, force: true });
}
