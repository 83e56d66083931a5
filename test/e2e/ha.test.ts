/**
 * Two `dstack server` processes on one PostgreSQL database (issue 17, HA), built CLI, real SSH test hosts: each
 * server has its own DSTACK_HOME (the same config.yml token) and port. (a) A 2-replica service on an SSH fleet,
 * applied through the leader A, answers through the standby B's proxy; after `kill -9` of A, B leads, the client
 * loop through B keeps getting 200 (only the request in flight at the kill may fail) and the replicas are the same
 * two containers. (b) 50 concurrent applies, 25 through each server, all listed by `ps --json` through either.
 * (c) A graceful stop of the leader hands over at once. (d) Code applied through a standby's home CLI is uploaded to
 * the leader and the database, so after kill -9 of that leader a restarted replica on the survivor gets it.
 * Needs root, `scripts/test-hosts.sh up 2`, `npm run build`.
 */
import { execa, type ResultPromise } from 'execa';
import Docker from 'dockerode';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Health, RunView } from '../../src/core/api.js';
import { LABELS } from '../../src/core/model/agent-constants.js';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.js';
import { dockerOptions, holdTestHosts, loadTestHosts, type TestHost } from '../helpers/test-hosts.js';
import { cliCommand, echoServiceYaml, eventually, freePort, TEST_DOCKER_HOST, uniqueName } from './cli-harness.js';

const FLEET = uniqueName('e2e-ha-fl');
const RUN = uniqueName('e2e-ha-svc');
const CODE = uniqueName('e2e-ha-code');
const CHEAP = Array.from({ length: 50 }, (_, i) => `${RUN}-c${i}`);

interface Server {
  home: string;
  port: number;
  url: string;
  proc?: ResultPromise<{ reject: false; stdin: 'ignore'; forceKillAfterDelay: false }>;
}

let cluster: TestPostgres;
let dbUrl: string;
let hosts: TestHost[];
let cfgDir: string;
let a: Server;
let b: Server;
const cmd = cliCommand();

const envOf = (s: Server): Record<string, string> => ({
  DSTACK_HOME: s.home,
  DSTACK_SERVER_PORT: String(s.port),
  DSTACK_DATABASE_URL: dbUrl,
  DOCKER_HOST: TEST_DOCKER_HOST,
  DSTACK_BASE_IMAGE: 'dstack-test/python:latest',
  NO_COLOR: '1',
});

const health = async (s: Server): Promise<Health | undefined> => {
  const res = await request(`${s.url}/api/health`).catch(() => undefined);
  if (!res) return undefined;
  return res.statusCode === 200 ? ((await res.body.json()) as Health) : (await res.body.dump(), undefined);
};

async function startServer(s: Server): Promise<void> {
  // A graceful stop may take a while (SSH sessions to the fleet close): never SIGKILLed behind the test's back.
  s.proc = execa(cmd[0]!, [...cmd.slice(1), 'server', '--port', String(s.port)], {
    env: envOf(s),
    extendEnv: true,
    reject: false,
    stdin: 'ignore' as const,
    forceKillAfterDelay: false as const,
  });
  // Listening comes first (the advertised URL needs the port); then it leads, or knows whom it follows.
  await eventually(`server ${s.url} answering`, async () => {
    const h = await health(s);
    return (h?.pid === s.proc?.pid && (h?.role === 'leader' || h?.leader !== undefined)) || undefined;
  }, 60_000);
}

const dstack = (s: Server, args: string[]) =>
  execa(cmd[0]!, [...cmd.slice(1), ...args], { cwd: cfgDir, env: envOf(s), extendEnv: true, reject: false, stdin: 'ignore', timeout: 170_000 });

async function ps(s: Server): Promise<RunView[]> {
  const r = await dstack(s, ['ps', '-a', '--json']);
  if (r.exitCode !== 0) throw new Error(`dstack ps through ${s.url} failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { runs: RunView[] }).runs;
}

async function api<T>(s: Server, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const token = /^token:\s*(\S+)/m.exec(await readFile(join(s.home, 'config.yml'), 'utf8'))?.[1] ?? '';
  const res = await request(`${s.url}${path}`, {
    method: method as 'GET',
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : null,
  });
  return { status: res.statusCode, body: (await res.body.json()) as T };
}

const roleOf = async (s: Server) => (await health(s))?.role;
const ready = (v: RunView | undefined) => v?.replicas.filter((r) => r.status === 'running' && r.ready) ?? [];
const containerIds = async () => {
  const ids: string[] = [];
  for (const h of hosts) for (const c of await new Docker(dockerOptions(h.dockerHost)).listContainers({ filters: { label: [`${LABELS.run}=${RUN}`] } })) ids.push(c.Id);
  return ids.sort();
};

holdTestHosts();

beforeAll(async () => {
  hosts = loadTestHosts(2).hosts.slice(0, 2);
  cluster = await startTestPostgres();
  dbUrl = await cluster.createDatabase();
  cfgDir = await mkdtemp(join(tmpdir(), 'dstack-e2e-ha-cfg-'));
  const server = async (): Promise<Server> => {
    const port = await freePort();
    return { home: await mkdtemp(join(tmpdir(), 'dstack-e2e-ha-home-')), port, url: `http://127.0.0.1:${port}` };
  };
  a = await server();
  b = await server();
  await startServer(a);
  // The same admin token on both servers: a client of either uses the one it has.
  await copyFile(join(a.home, 'config.yml'), join(b.home, 'config.yml'));
  await startServer(b);
}, 120_000);

afterAll(async () => {
  const alive = [a, b].filter((s) => s?.proc && s.proc.exitCode === null);
  const via = alive[0];
  if (via) {
    for (const name of [RUN, CODE, ...CHEAP]) await api(via, 'POST', `/api/runs/${name}/stop`, { abort: true }).catch(() => undefined);
    await api(via, 'DELETE', `/api/fleets/${FLEET}?force=1`).catch(() => undefined);
    await eventually('fleet gone', async () => ((await api<{ status: string }>(via, 'GET', `/api/fleets/${FLEET}`)).body.status === 'terminated' ? true : undefined), 90_000).catch(() => undefined);
  }
  for (const s of [a, b]) s?.proc?.kill('SIGTERM');
  for (const s of [a, b]) await s?.proc?.catch(() => undefined);
  // The local agents outlive their servers by design.
  for (const s of [a, b]) {
    const pid = await readFile(join(s?.home ?? '/nonexistent', 'server/local-agent/agent-process.json'), 'utf8').then((t) => (JSON.parse(t) as { pid?: number }).pid, () => undefined);
    if (pid) process.kill(pid, 'SIGTERM');
  }
  for (const h of hosts ?? []) {
    const d = new Docker(dockerOptions(h.dockerHost));
    for (const c of await d.listContainers({ all: true, filters: { label: [`${LABELS.run}=${RUN}`, `${LABELS.run}=${CODE}`] } })) await d.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  }
  await cluster?.stop();
  for (const dir of [a?.home, b?.home, cfgDir]) if (dir) await rm(dir, { recursive: true, force: true });
}, 200_000);

describe('two servers on one database (built CLI)', () => {
  it('A leads, B stands by naming A', async () => {
    expect(await health(a)).toMatchObject({ role: 'leader', leader: a.url });
    expect(await health(b)).toMatchObject({ role: 'standby', leader: a.url, home: b.home });
  });

  it('after kill -9 of the leader, the standby takes over; its proxy keeps answering with the same two replicas', async () => {
    const fleet = { type: 'fleet', name: FLEET, ssh_config: { user: hosts[0]!.user, identity_file: hosts[0]!.identityFile, hosts: hosts.map((h) => h.ip) } };
    expect((await api(a, 'POST', '/api/fleets/apply', { config: fleet })).status).toBe(200);
    await eventually('both hosts idle', async () => {
      const f = (await api<{ instances: { status: string }[] }>(a, 'GET', `/api/fleets/${FLEET}`)).body;
      return f.instances.length === 2 && f.instances.every((i) => i.status === 'idle') ? f : undefined;
    }, 120_000);
    const yaml = `${echoServiceYaml(RUN, 2)}stop_duration: 1s\nresources:\n  cpu: 1..\n  memory: 0.25GB..\n  disk: 1GB..\n`;
    await writeFile(join(cfgDir, 'svc.dstack.yml'), yaml);
    const applied = await dstack(a, ['apply', '-f', join(cfgDir, 'svc.dstack.yml'), '-y', '-d']);
    expect(applied.exitCode, applied.stderr).toBe(0);
    // Through the standby: relayed to the leader.
    const before = await eventually('2 ready replicas', async () => {
      const v = (await ps(b)).find((r) => r.name === RUN);
      return ready(v).length === 2 ? v : undefined;
    }, 180_000);
    const replicasBefore = ready(before).map((r) => `${r.num}/${r.submission}@${r.instance}`).sort();
    const containersBefore = await containerIds();
    expect(containersBefore).toHaveLength(2);

    // A client loop through B's proxy, one request at a time.
    const outcomes: { at: number; done: number; ok: boolean; detail: string }[] = [];
    let looping = true;
    const loop = (async () => {
      while (looping) {
        const at = Date.now();
        try {
          const res = await request(`${b.url}/proxy/services/main/${RUN}/`, { headersTimeout: 60_000, bodyTimeout: 60_000 });
          await res.body.dump();
          outcomes.push({ at, done: Date.now(), ok: res.statusCode === 200, detail: String(res.statusCode) });
        } catch (e) {
          outcomes.push({ at, done: Date.now(), ok: false, detail: (e as Error).message });
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await eventually('the loop answered through B', async () => (outcomes.some((o) => o.ok) ? true : undefined), 30_000);

    const killedAt = Date.now();
    a.proc!.kill('SIGKILL');
    await a.proc!.catch(() => undefined);
    await eventually('B leads', async () => ((await roleOf(b)) === 'leader' ? true : undefined), 60_000);
    const tookOverMs = Date.now() - killedAt;
    const firstOkAfterKill = await eventually('a 200 after the kill', async () => outcomes.find((o) => o.at > killedAt && o.ok), 60_000);
    const firstOkMs = firstOkAfterKill.done - killedAt;
    // Replicas adopted, not replaced: 10 s more of the loop, then the same two.
    await new Promise((r) => setTimeout(r, 10_000));
    looping = false;
    await loop;
    const after = (await ps(b)).find((r) => r.name === RUN);
    expect(ready(after).map((r) => `${r.num}/${r.submission}@${r.instance}`).sort()).toEqual(replicasBefore);
    expect(after?.replicas.filter((r) => !['terminated', 'aborted', 'failed', 'done'].includes(r.status))).toHaveLength(2);
    expect(await containerIds()).toEqual(containersBefore);
    // Only the request in flight at the kill may have failed.
    const failures = outcomes.filter((o) => !o.ok);
    expect(failures.length, JSON.stringify(failures)).toBeLessThanOrEqual(1);
    const afterTakeover = outcomes.filter((o) => o.at > killedAt + tookOverMs);
    expect(afterTakeover.length).toBeGreaterThan(0);
    expect(afterTakeover.every((o) => o.ok)).toBe(true);
    console.log(`[ha] kill -9 → B leads (health) in ${tookOverMs} ms; first 200 through B answered ${firstOkMs} ms after the kill; ${outcomes.length} requests, ${failures.length} failed`);
  }, 400_000);

  it('50 concurrent applies, 25 through each server, are all listed through either', async () => {
    // A again, now as the standby of B.
    a.proc = undefined;
    await startServer(a);
    expect(await roleOf(a)).toBe('standby');
    const config = (name: string) => ({ type: 'service', name, image: 'dstack-test/node:latest', commands: ['sleep 1000'], port: 8000, replicas: '0..1', scaling: { metric: 'rps', target: 5 } });
    const answers = await Promise.all(CHEAP.map((name, i) => api<{ message?: string }>(i % 2 === 0 ? a : b, 'POST', '/api/runs/apply', { config: config(name), force: false })));
    expect(answers.filter((r) => r.status !== 200)).toEqual([]);
    for (const s of [a, b]) {
      const names = new Set((await ps(s)).map((r) => r.name));
      expect(CHEAP.filter((n) => !names.has(n))).toEqual([]);
    }
  }, 200_000);

  it('a graceful stop of the leader hands over at once', async () => {
    expect(await roleOf(b)).toBe('leader');
    const stoppedAt = Date.now();
    b.proc!.kill('SIGTERM');
    await eventually('A leads', async () => ((await roleOf(a)) === 'leader' ? true : undefined), 30_000);
    const handedOverMs = Date.now() - stoppedAt;
    expect((await b.proc!).exitCode).toBe(0);
    // Handed over, not left to expire: B released the lease on its way out.
    expect(await readFile(join(b.home, 'server/logs/daemon.log'), 'utf8')).toContain('released the leadership');
    const names = new Set((await ps(a)).map((r) => r.name));
    expect(names.has(RUN)).toBe(true);
    console.log(`[ha] SIGTERM of the leader → A leads in ${handedOverMs} ms`);
  }, 120_000);

  it("code applied through a standby's CLI reaches a replica started by the next leader", async () => {
    // B again, as A's standby. The fleet's hosts are freed for the service with code.
    b.proc = undefined;
    await startServer(b);
    expect(await roleOf(b)).toBe('standby');
    expect((await api(a, 'POST', `/api/runs/${RUN}/stop`, { abort: true })).status).toBe(200);
    await eventually('both hosts idle', async () => {
      const f = (await api<{ instances: { status: string }[] }>(a, 'GET', `/api/fleets/${FLEET}`)).body;
      return f.instances.filter((i) => i.status === 'idle').length === 2 ? f : undefined;
    }, 120_000);
    const page = `code ${CODE}\n`;
    await writeFile(join(cfgDir, 'page.txt'), page);
    const yaml = `type: service\nname: ${CODE}\nimage: dstack-test/python:latest\ncommands:\n  - python3 -m http.server 8000\nport: 8000\nauth: false\nfleets: [${FLEET}]\nstop_duration: 1s\n`;
    await writeFile(join(cfgDir, 'code.dstack.yml'), yaml);
    // B's home CLI: its daemon is a standby, so the archive goes up to the leader (and the database) by HEAD/PUT.
    const applied = await dstack(b, ['apply', '-f', join(cfgDir, 'code.dstack.yml'), '-y', '-d']);
    expect(applied.exitCode, applied.stderr).toBe(0);
    const first = await eventually('the code replica ready', async () => ready((await ps(b)).find((r) => r.name === CODE))[0], 180_000);
    const pageUrl = `${b.url}/proxy/services/main/${CODE}/page.txt`;
    const get = async () => {
      const r = await request(pageUrl);
      return { status: r.statusCode, body: await r.body.text() };
    };
    expect(await eventually('the page through B', async () => ((await get()).status === 200 ? get() : undefined), 30_000)).toEqual({ status: 200, body: page });

    // B's own copy goes: what B starts after the takeover can only come from the database.
    await rm(join(b.home, 'archives'), { recursive: true, force: true });
    a.proc!.kill('SIGKILL');
    await a.proc!.catch(() => undefined);
    await eventually('B leads', async () => ((await roleOf(b)) === 'leader' ? true : undefined), 60_000);
    expect((await api(b, 'POST', `/api/runs/${CODE}/restart`)).status).toBe(200);
    const second = await eventually('a new code replica ready', async () => {
      const r = ready((await ps(b)).find((v) => v.name === CODE)).find((x) => x.submission !== first.submission || x.num !== first.num);
      return r;
    }, 240_000);
    expect(second).toBeDefined();
    expect(await eventually('the page from the new replica', async () => {
      const v = (await ps(b)).find((r) => r.name === CODE);
      const live = v?.replicas.filter((r) => !['terminated', 'aborted', 'failed', 'done'].includes(r.status)) ?? [];
      return live.length === 1 && live[0]!.num === second.num && live[0]!.submission === second.submission ? get() : undefined;
    }, 60_000)).toEqual({ status: 200, body: page });
  }, 500_000);
});
