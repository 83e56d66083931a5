// Bench section `state` (issue 17): the control API's latency with state in PostgreSQL beside the JSON file, in
// the same run, each with a daemon of the built CLI (`dstack server`) on a home of its own: `dstack ps --json` and
// `GET /api/runs` with STATE_RUNS runs stored, and `POST /api/runs/apply` of a new run (answered once the run is
// durable: file renamed into place, or transaction committed). The runs scale from zero (`replicas: 0..1`), so the
// figures are the control plane's and the store's, not a container's start. Goal: PostgreSQL ≤ 1.5× the file.
// Needs root (scripts/test-postgres.sh starts the cluster; one already up is reused), the test dockerd for the
// local agent (`scripts/test-hosts.sh up 1`) and `npm run build`. Standalone: `node scripts/bench/state.mjs`.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchCluster, daemonApi, fmt, freeLocalPort, median, percentile } from './lib.mjs';

export const name = 'state';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCKER_HOST = process.env.DSTACK_TEST_DOCKER_HOST ?? 'unix:///run/dstack-test/docker.sock';
const GOAL = 1.5;
const RUNS = Number(process.env.STATE_RUNS) || 50;
const SAMPLES = 15;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const service = (svc) => ({
  type: 'service',
  name: svc,
  image: 'dstack-test/node:latest',
  env: ['PORT=8000'],
  commands: ['node /srv/http-echo.mjs'],
  port: 8000,
  auth: false,
  replicas: '0..1',
  scaling: { metric: 'rps', target: 10 },
});

/** The bench's own cluster, with fsync on as a real server runs it (the JSON store fsyncs too); the tests' has it off. */
const CLUSTER = { DSTACK_TEST_POSTGRES_DIR: '/run/dstack-test/postgres-bench', DSTACK_TEST_POSTGRES_PORT: '55433', DSTACK_TEST_POSTGRES_FSYNC: 'on' };
const { cluster, freshDatabase: fresh } = benchCluster(CLUSTER);
const freshDatabase = () => fresh('dstack_bench');

/** A daemon of the built CLI on a home of its own; `database` undefined = the JSON file. */
async function startDaemon(cli, label, database) {
  const home = await mkdtemp(join(tmpdir(), `bench-state-${label}-`));
  const port = await freeLocalPort();
  const token = randomBytes(24).toString('base64url');
  const config = { version: 1, default_project: 'main', user: 'bench', token, server: { host: '127.0.0.1', port }, projects: [{ name: 'main', tokens: [], backends: [] }] };
  await writeFile(join(home, 'config.yml'), JSON.stringify(config), { mode: 0o600 });
  const env = { ...process.env, DSTACK_HOME: home, DSTACK_SERVER_PORT: String(port), DOCKER_HOST, NO_COLOR: '1' };
  delete env.CI;
  delete env.DSTACK_DATABASE_URL;
  if (database) env.DSTACK_DATABASE_URL = database;
  const child = spawn(process.execPath, [cli, 'server'], { env, cwd: home, stdio: 'ignore' });
  const daemon = { url: `http://127.0.0.1:${port}` };
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`bench state: the ${label} daemon exited ${child.exitCode} (log: ${home}/server/logs)`);
    if (existsSync(join(home, 'server/daemon.json')) && (await fetch(`${daemon.url}/api/health`).then((r) => r.ok, () => false))) break;
    if (i > 600) throw new Error(`bench state: the ${label} daemon did not answer in 30 s`);
    await sleep(50);
  }
  const api = (method, path, body) => daemonApi('state', daemon, token, method, path, body);
  const ps = () => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [cli, 'ps', '--json'], { env, cwd: home, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
    if (r.status !== 0) throw new Error(`bench state: dstack ps --json (${label}) exited ${r.status}: ${r.stderr}`);
    return performance.now() - t0;
  };
  const close = async () => {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    // The local agent outlives the daemon by design.
    try {
      const { pid } = JSON.parse(readFileSync(join(home, 'server/local-agent/agent-process.json'), 'utf8'));
      process.kill(pid, 'SIGTERM');
    } catch {
      // never started
    }
    await rm(home, { recursive: true, force: true });
  };
  return { label, api, ps, close };
}

async function measure(d, prefix, log) {
  const timed = async (fn) => {
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  };
  const applies = [];
  for (let i = 0; i < RUNS; i++) applies.push(await timed(() => d.api('POST', '/api/runs/apply', { config: service(`${prefix}-${i}`), force: false })));
  const lists = [];
  const pss = [];
  for (let i = 0; i < SAMPLES; i++) {
    lists.push(await timed(() => d.api('GET', '/api/runs')));
    pss.push(d.ps());
  }
  log(`${d.label}: apply p50 ${fmt.ms(median(applies))} ms, GET /api/runs p50 ${fmt.ms(median(lists))} ms, ps --json p50 ${fmt.ms(median(pss))} ms`);
  return { apply: applies, list: lists, ps: pss };
}

export async function run(ctx = {}) {
  const log = ctx.log ?? ((m) => process.stderr.write(`[state] ${m}\n`));
  const cli = join(process.env.STATE_DIST ?? join(ROOT, 'dist'), 'main.js');
  if (!existsSync(cli)) throw new Error(`bench state: ${cli} is missing: run npm run build`);
  const database = await freshDatabase();
  const prefix = `s${randomBytes(2).toString('hex')}`;
  const json = await startDaemon(cli, 'json');
  let results;
  try {
    const pg = await startDaemon(cli, 'postgres', database);
    try {
      // Interleaved halves, so that a busy moment of the box does not land on one store only.
      const a = await measure(json, `${prefix}a`, log);
      const b = await measure(pg, `${prefix}a`, log);
      const c = await measure(pg, `${prefix}b`, log);
      const e = await measure(json, `${prefix}b`, log);
      const join2 = (x, y) => Object.fromEntries(Object.keys(x).map((k) => [k, [...x[k], ...y[k]]]));
      results = { json: join2(a, e), pg: join2(b, c) };
    } finally {
      await pg.close();
    }
  } finally {
    await json.close();
    cluster('down');
  }
  const rows = [];
  const notes = [];
  for (const [label, key, unit] of [
    [`POST /api/runs/apply (a new run, answered once durable; ${RUNS * 2} samples)`, 'apply', 'ms'],
    [`GET /api/runs (${RUNS}–${RUNS * 2} runs stored)`, 'list', 'ms'],
    [`dstack ps --json (${RUNS}–${RUNS * 2} runs stored)`, 'ps', 'ms'],
  ]) {
    const f = median(results.json[key]);
    const p = median(results.pg[key]);
    const ratio = p / f;
    rows.push([label, `${fmt.ms(f)} (p90 ${fmt.ms(percentile(results.json[key], 0.9))})`, `${fmt.ms(p)} (p90 ${fmt.ms(percentile(results.pg[key], 0.9))})`, fmt.ratio(ratio)]);
    notes.push(`Goal (issue 17): ${key} on PostgreSQL ≤ ${GOAL}× the JSON file: ${fmt.ratio(ratio)}, ${ratio <= GOAL ? 'met' : 'NOT met'}.`);
    void unit;
  }
  return {
    title: 'Control API on PostgreSQL state vs the JSON file (issue 17)',
    columns: ['measure (median ms)', 'JSON file', 'PostgreSQL', 'PostgreSQL / file'],
    rows,
    notes: [...notes, 'Same run, same box, same built CLI; PostgreSQL 15 on loopback with fsync on (its own cluster; the tests run theirs with fsync off).'],
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then((r) => console.log(JSON.stringify(r, null, 1)), (e) => {
    console.error(e);
    process.exit(1);
  });
}
