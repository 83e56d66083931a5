/**
 * Bench section `autoscale` (npm run bench autoscale): issue 7's two figures, with the built CLI (dist/main.js)
 * and its daemon on the test dockerd (`scripts/test-hosts.sh up 1`), measured beside their references in the
 * same run:
 * - cold-start overhead: time to the first response of a `replicas: 0..1` service (the request is held while the
 *   replica starts) minus the container's own start time (create + start of the same image and command through
 *   the same dockerd until its port answers). Goal ≤ 1 s.
 * - reaction to a load step: a `1..3`, `target: 5`, `window: 30s` service gets 20 rps from idle; the time from
 *   load start to the first raise of the desired count and to the maximum, with the daemon's default 3 s tick.
 *   Goal ≤ one window + 5 s.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { Agent, request } from 'undici';
import { fmt, freeLocalPort, median } from './lib.mjs';

export const name = 'autoscale';

const DOCKER_HOST = process.env.DSTACK_TEST_DOCKER_HOST ?? 'unix:///run/dstack-test/docker.sock';
const IMAGE = 'dstack-test/node:latest';
const COMMAND = 'node /srv/http-echo.mjs';
const LABEL = 'dstack.bench=autoscale';
const WINDOW_S = 30;
const run$ = promisify(execFile);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const service = (svc, replicas, scaling) => `type: service
name: ${svc}
image: ${IMAGE}
env:
  - PORT=8000
commands:
  - ${COMMAND}
port: 8000
auth: false
stop_duration: 1s
replicas: ${replicas}
${scaling ? `scaling:\n  metric: rps\n  target: 5\n  window: ${WINDOW_S}s\n  scale_up_delay: 0s\n  scale_down_delay: 10m\n` : ''}`;

/** GET until it answers 200 (the container's port is not open yet); ms from `t0`. */
async function firstOk(url, t0, agent, limitMs = 120_000) {
  while (performance.now() - t0 < limitMs) {
    try {
      const res = await request(url, { dispatcher: agent, headersTimeout: limitMs, bodyTimeout: limitMs });
      await res.body.dump();
      if (res.statusCode === 200) return performance.now() - t0;
    } catch {
      // not listening yet
    }
    await sleep(20);
  }
  throw new Error(`${url} did not answer 200 within ${limitMs} ms`);
}

/** The reference: the container alone, created and started through the same dockerd, until its port answers. */
async function containerStart(docker, agent) {
  const t0 = performance.now();
  const c = await docker.createContainer({
    Image: IMAGE,
    Cmd: ['sh', '-c', COMMAND],
    Env: ['PORT=8000'],
    Labels: { 'dstack.bench': 'autoscale' },
    ExposedPorts: { '8000/tcp': {} },
    HostConfig: { PortBindings: { '8000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
  });
  try {
    await c.start();
    const port = (await c.inspect()).NetworkSettings.Ports['8000/tcp'][0].HostPort;
    return await firstOk(`http://127.0.0.1:${port}/health`, t0, agent);
  } finally {
    await c.remove({ force: true }).catch(() => undefined);
  }
}

function cli(root, env) {
  return async (...args) => {
    const { stdout } = await run$(process.execPath, [join(root, 'dist/main.js'), ...args], { env, maxBuffer: 16 * 2 ** 20 });
    return stdout;
  };
}

export async function run(ctx = {}) {
  const root = ctx.root ?? process.cwd();
  const reps = ctx.runs ?? (ctx.quick ? 2 : 3);
  const log = ctx.log ?? ((m) => process.stderr.write(`[autoscale] ${m}\n`));
  const docker = new Docker({ socketPath: DOCKER_HOST.replace(/^unix:\/\//, '') });
  await docker.getImage(IMAGE).inspect().catch(() => {
    throw new Error(`${IMAGE} is missing on ${DOCKER_HOST}: run \`sudo scripts/test-hosts.sh up 1\``);
  });
  const home = await mkdtemp(join(tmpdir(), 'dstack-bench-autoscale-'));
  const port = await freeLocalPort();
  const env = { ...process.env, DSTACK_HOME: home, DSTACK_SERVER_PORT: String(port), DOCKER_HOST, NO_COLOR: '1' };
  const dstack = cli(root, env);
  const agent = new Agent({ connections: 64 });
  const names = ['bench-warm', ...Array.from({ length: reps }, (_, i) => `bench-cold-${i}`), 'bench-step'];
  const url = (svc, path) => `http://127.0.0.1:${port}/proxy/services/main/${svc}${path}`;
  const view = async (svc) => JSON.parse(await dstack('ps', '--json')).runs.find((r) => r.name === svc);
  try {
    const own = [];
    for (let i = 0; i < reps; i++) own.push(await containerStart(docker, agent));
    log(`container start: ${own.map((n) => n.toFixed(0)).join(', ')} ms`);

    // A warm daemon and agent, as a user's would be: the first apply starts both.
    await writeFile(join(home, 'warm.yml'), service('bench-warm', 1, false));
    await dstack('apply', '-f', join(home, 'warm.yml'), '-y');
    const cold = [];
    for (let i = 0; i < reps; i++) {
      const svc = `bench-cold-${i}`;
      await writeFile(join(home, `${svc}.yml`), service(svc, '0..1', true));
      await dstack('apply', '-f', join(home, `${svc}.yml`), '-y', '-d');
      // One request, held by the proxy while the replica starts: anything but 200 is a failure, not a retry.
      const t0 = performance.now();
      const res = await request(url(svc, '/health'), { dispatcher: agent, headersTimeout: 120_000, bodyTimeout: 120_000 });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`the first request to ${svc} answered ${res.statusCode}, not 200`);
      cold.push(performance.now() - t0);
    }
    log(`first response from zero: ${cold.map((n) => n.toFixed(0)).join(', ')} ms`);

    await writeFile(join(home, 'step.yml'), service('bench-step', '1..3', true));
    await dstack('apply', '-f', join(home, 'step.yml'), '-y');
    const t0 = performance.now();
    let stop = false;
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const wait = t0 + i * 50 - performance.now();
        if (wait > 0) await sleep(wait);
        request(url('bench-step', `/l/${i}`), { dispatcher: agent }).then((r) => r.body.dump(), () => undefined);
      }
    })();
    let firstRaise = NaN;
    let toMax = NaN;
    while (performance.now() - t0 < (WINDOW_S + 60) * 1000 && Number.isNaN(toMax)) {
      const v = await view('bench-step');
      const at = performance.now() - t0;
      if (v.desiredReplicas > 1 && Number.isNaN(firstRaise)) firstRaise = at;
      if (v.desiredReplicas === 3) toMax = at;
      await sleep(250);
    }
    stop = true;
    await load;
    log(`load step: first raise ${firstRaise.toFixed(0)} ms, max ${toMax.toFixed(0)} ms`);

    const coldMedian = median(cold);
    const ownMedian = median(own);
    const goal = (WINDOW_S + 5) * 1000;
    return {
      title: 'autoscale: cold start from zero and reaction to a load step (local backend, test dockerd)',
      columns: ['measure', 'median ms', 'min ms', 'max ms', 'goal'],
      rows: [
        ['container start alone (create + start → port answers), reference', fmt.ms(ownMedian), fmt.ms(Math.min(...own)), fmt.ms(Math.max(...own)), ''],
        ['first response through the proxy from 0 replicas', fmt.ms(coldMedian), fmt.ms(Math.min(...cold)), fmt.ms(Math.max(...cold)), ''],
        ['cold-start overhead (difference of medians)', fmt.ms(coldMedian - ownMedian), '', '', coldMedian - ownMedian <= 1000 ? '≤ 1000 ✓' : '≤ 1000 ✗'],
        ['load step 20 rps → desired raised (1 → 2+)', fmt.ms(firstRaise), '', '', firstRaise <= goal ? `≤ ${goal} ✓` : `≤ ${goal} ✗`],
        ['load step 20 rps → desired at max (3)', fmt.ms(toMax), '', '', toMax <= goal ? `≤ ${goal} ✓` : `≤ ${goal} ✗`],
      ],
      notes: [
        `${reps} cold starts, each on a fresh \`replicas: 0..1\` service (the daemon and agent already running).`,
        `Load step: target 5 rps per replica, window ${WINDOW_S} s, scale_up_delay 0 s, the daemon's default 3 s autoscaler tick; desired polled with \`dstack ps --json\` every ~0.25 s plus the CLI's own run time.`,
        'The window averages the load, so 20 rps asks for 2 replicas once the 30 s average passes 5 rps and for 3 once it passes 10 rps.',
      ],
    };
  } finally {
    for (const svc of names) await dstack('stop', svc, '-y', '-x').catch(() => undefined);
    await stopDaemon(home);
    for (const c of await docker.listContainers({ all: true, filters: { label: [LABEL] } }).catch(() => [])) {
      await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    }
    for (const svc of names) {
      for (const c of await docker.listContainers({ all: true, filters: { label: [`ai.dstack.run=${svc}`] } }).catch(() => [])) {
        await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
      }
    }
    await agent.close();
    await rm(home, { recursive: true, force: true });
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
