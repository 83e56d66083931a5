// Bench section `ha` (issue 17, several servers on one database): a 2-replica service on an SSH fleet of the test
// hosts; the time from `kill -9` of the leading server to the first 200 through the standby's proxy (a client
// polling every 20 ms; a request sent while no server leads is held by the standby and answered once it took
// over). Reference, in the same run and on the same fleet and database: one server alone, `kill -9`, then the next
// CLI command (`dstack ps --json`) restarts it, to the first 200 through its proxy. Goal (issue 17): takeover
// within 15 s. Needs root (scripts/test-postgres.sh, its own cluster), `scripts/test-hosts.sh up 2`, `npm run build`.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchCluster, daemonApi, fmt, freeLocalPort, median, pollUntil } from './lib.mjs';

export const name = 'ha';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCKER_HOST = process.env.DSTACK_TEST_DOCKER_HOST ?? 'unix:///run/dstack-test/docker.sock';
const GOAL_MS = 15_000;
const CLUSTER = { DSTACK_TEST_POSTGRES_DIR: '/run/dstack-test/postgres-ha-bench', DSTACK_TEST_POSTGRES_PORT: '55434' };
const HOSTS_LOCK = '/run/dstack-test/hosts.lock';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const { cluster, freshDatabase: fresh } = benchCluster(CLUSTER);
const freshDatabase = () => fresh('dstack_ha');

/** The SSH test hosts are shared by e2e files and benches: one user at a time (test/helpers/test-hosts.ts). */
async function lockHosts() {
  for (let i = 0; i < 3600; i++) {
    try {
      mkdirSync(HOSTS_LOCK);
      writeFileSync(`${HOSTS_LOCK}/pid`, String(process.pid));
      return () => rmSync(HOSTS_LOCK, { recursive: true, force: true });
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    const holder = Number(readFileSync(`${HOSTS_LOCK}/pid`, 'utf8').trim() || NaN);
    if (Number.isInteger(holder) && !existsSync(`/proc/${holder}`)) rmSync(HOSTS_LOCK, { recursive: true, force: true });
    await sleep(250);
  }
  throw new Error('bench ha: the SSH test hosts stayed locked');
}

/** One server's home, port and CLI; `start` runs `dstack server` detached, as the CLI's auto-start does. */
async function server(cli, database, label, cwd) {
  const home = await mkdtemp(join(tmpdir(), `bench-ha-${label}-`));
  const port = await freeLocalPort();
  const env = { ...process.env, DSTACK_HOME: home, DSTACK_SERVER_PORT: String(port), DSTACK_DATABASE_URL: database, DOCKER_HOST, NO_COLOR: '1' };
  delete env.CI;
  const s = {
    label,
    home,
    url: `http://127.0.0.1:${port}`,
    dstack(args) {
      const r = spawnSync(process.execPath, [cli, ...args], { env, cwd, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`bench ha: dstack ${args.join(' ')} (${label}) exited ${r.status}: ${r.stderr}`);
      return r.stdout;
    },
    pid: () => JSON.parse(readFileSync(join(home, 'server/daemon.json'), 'utf8')).pid,
    token: () => /^token:\s*(\S+)/m.exec(readFileSync(join(home, 'config.yml'), 'utf8'))?.[1] ?? '',
    async role() {
      try {
        const res = await fetch(`${s.url}/api/health`, { signal: AbortSignal.timeout(2000) });
        return (await res.json()).role;
      } catch {
        return undefined;
      }
    },
    start() {
      spawn(process.execPath, [cli, 'server'], { env, stdio: 'ignore', detached: true }).unref();
    },
    kill(signal = 'SIGKILL') {
      const pid = s.pid();
      process.kill(pid, signal);
      return pid;
    },
    api: (method, path, body) => daemonApi('ha', { url: s.url }, s.token(), method, path, body),
  };
  return s;
}

/** ms from t0 until the service answers 200 at `url`; each try may be held (20 s) by a standby, polling every 20 ms. */
async function firstAnswer(url, t0) {
  while (performance.now() - t0 < 60_000) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(25_000) });
      await res.arrayBuffer();
      if (res.status === 200) return performance.now() - t0;
    } catch {
      // refused while nothing listens, or held past the timeout
    }
    await sleep(20);
  }
  throw new Error(`bench ha: ${url} did not answer 200 within 60 s`);
}

const gone = async (pid) => {
  while (existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))) await sleep(10);
};

export async function run(ctx = {}) {
  const log = ctx.log ?? ((m) => process.stderr.write(`[ha] ${m}\n`));
  const n = ctx.runs ?? (ctx.quick ? 3 : 5);
  const cli = join(process.env.HA_DIST ?? join(ROOT, 'dist'), 'main.js');
  if (!existsSync(cli)) throw new Error(`bench ha: ${cli} is missing: run npm run build`);
  const hosts = JSON.parse(readFileSync('/run/dstack-test/hosts.json', 'utf8')).hosts.slice(0, 2);
  if (hosts.length < 2) throw new Error('bench ha: needs 2 SSH test hosts: scripts/test-hosts.sh up 2');
  const unlock = await lockHosts();
  const database = await freshDatabase();
  const cfgDir = await mkdtemp(join(tmpdir(), 'bench-ha-cfg-'));
  const a = await server(cli, database, 'a', cfgDir);
  const b = await server(cli, database, 'b', cfgDir);
  const fleet = `bench-ha-fl-${randomBytes(2).toString('hex')}`;
  const runName = `bench-ha-${randomBytes(2).toString('hex')}`;
  const svcPath = () => `/proxy/services/main/${runName}/`;
  const single = [];
  const takeover = [];
  try {
    a.start();
    await pollUntil('ha', 'server a leading', async () => ((await a.role()) === 'leader' ? true : undefined), 60_000);
    copyFileSync(join(a.home, 'config.yml'), join(b.home, 'config.yml'));
    const ssh = { user: hosts[0].user, identity_file: hosts[0].identityFile, hosts: hosts.map((h) => h.ip) };
    await a.api('POST', '/api/fleets/apply', { config: { type: 'fleet', name: fleet, ssh_config: ssh } });
    await pollUntil('ha', 'fleet idle', async () => {
      const f = await a.api('GET', `/api/fleets/${fleet}`);
      return f.instances?.length === 2 && f.instances.every((i) => i.status === 'idle') ? true : undefined;
    }, 180_000);
    const yaml = `type: service\nname: ${runName}\nimage: dstack-test/node:latest\nenv:\n  - PORT=8000\ncommands:\n  - node /srv/http-echo.mjs\nport: 8000\nreplicas: 2\nauth: false\nresources:\n  cpu: 1..\n  memory: 0.25GB..\n  disk: 1GB..\n`;
    writeFileSync(join(cfgDir, 'svc.dstack.yml'), yaml);
    a.dstack(['apply', '-f', join(cfgDir, 'svc.dstack.yml'), '-y', '-d']);
    await firstAnswer(`${a.url}${svcPath()}`, performance.now());
    await pollUntil('ha', '2 ready replicas', async () => {
      const v = (await a.api('GET', `/api/runs/${runName}`)).replicas?.filter((r) => r.status === 'running' && r.ready);
      return v?.length === 2 ? true : undefined;
    }, 180_000);

    // Reference: server a alone.
    for (let i = 0; i < n; i++) {
      await gone(a.kill());
      const t0 = performance.now();
      const client = firstAnswer(`${a.url}${svcPath()}`, t0);
      a.dstack(['ps', '--json']);
      single.push(await client);
      log(`single server sample ${i}: first 200 ${fmt.ms(single[i])} ms after kill -9 + the next command`);
    }

    // Two servers: kill the leader, time the first 200 through the other; the killed one comes back as standby.
    b.start();
    await pollUntil('ha', 'server b standing by', async () => ((await b.role()) === 'standby' ? true : undefined), 60_000);
    let [leader, standby] = [a, b];
    for (let i = 0; i < n; i++) {
      await gone(leader.kill());
      const t0 = performance.now();
      takeover.push(await firstAnswer(`${standby.url}${svcPath()}`, t0));
      log(`takeover sample ${i}: first 200 through ${standby.label} ${fmt.ms(takeover[i])} ms after kill -9 of ${leader.label}`);
      leader.start();
      await pollUntil('ha', `server ${leader.label} standing by`, async () => ((await leader.role()) === 'standby' ? true : undefined), 60_000);
      [leader, standby] = [standby, leader];
    }
    const row = (label, xs) => [label, xs.length, fmt.ms(median(xs)), fmt.ms(Math.min(...xs)), fmt.ms(Math.max(...xs))];
    const ratio = median(takeover) / median(single);
    return {
      title: 'Several servers on one database: kill -9 of the leader, to the first 200 through the standby',
      columns: ['what', 'runs', 'median ms', 'min ms', 'max ms'],
      rows: [
        row('two servers: kill -9 of the leader → first 200 through the standby\'s proxy (client polling every 20 ms)', takeover),
        row('one server (reference): kill -9, then `dstack ps --json` restarts it → first 200 through its proxy', single),
      ],
      notes: [
        `Takeover / single-server restart: ${fmt.ratio(ratio)}. Goal (issue 17): takeover within ${GOAL_MS / 1000} s: ${fmt.ms(Math.max(...takeover))} ms at worst, ${Math.max(...takeover) <= GOAL_MS ? 'met' : 'NOT met'}.`,
        'Both on the same 2-replica service on an SSH fleet of 2 test hosts and the same PostgreSQL database (fsync off); replicas are adopted, never restarted.',
      ],
    };
  } finally {
    const alive = (await a.role()) ? a : b;
    await alive.api('POST', `/api/runs/${runName}/stop`, { abort: true }).catch(() => undefined);
    await alive.api('DELETE', `/api/fleets/${fleet}?force=1`).catch(() => undefined);
    await pollUntil('ha', 'fleet terminated', async () => ((await alive.api('GET', `/api/fleets/${fleet}`).catch(() => ({}))).status === 'terminated' ? true : undefined), 120_000).catch(() => undefined);
    for (const s of [a, b]) {
      for (const file of ['server/daemon.json', 'server/local-agent/agent-process.json']) {
        try {
          process.kill(JSON.parse(readFileSync(join(s.home, file), 'utf8')).pid, 'SIGTERM');
        } catch {
          // not running
        }
      }
    }
    await sleep(2000);
    cluster('down');
    unlock();
    for (const dir of [a.home, b.home, cfgDir]) await rm(dir, { recursive: true, force: true });
  }
}
