/**
 * The daemon on PostgreSQL state (issue 17): DSTACK_DATABASE_URL or config.yml `server.database` picks it; runs
 * and secrets outlive a restart in the database (no state.json); a second server on the database stands by and
 * relays to the first until it leads; a bad or unreachable URL is a clear error before anything listens; the
 * password never reaches the log.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stopLocalAgent } from '../../../src/backends/local/agent-process.js';
import { DstackError } from '../../../src/core/errors.js';
import { runDaemon, type Daemon } from '../../../src/daemon/main.js';
import { Api, DOCKER_HOST, buildAgent, removeDir, tempDir } from '../daemon/harness.js';
import { query, startTestPostgres, type TestPostgres } from '../../helpers/postgres.js';

let cluster: TestPostgres;
let agentBin: string;
let agentDir: string;
beforeAll(async () => {
  cluster = await startTestPostgres();
  agentDir = await tempDir('dstack-pg-agent-');
  agentBin = await buildAgent(agentDir);
});
afterAll(() => removeDir(agentDir));
afterAll(() => cluster?.stop());

const PASSWORD = 'pw-daemon-never-logged-7f3a';

describe('the daemon on PostgreSQL state', () => {
  const open: Daemon[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of open.splice(0)) await d.close();
    // The local agent outlives its daemon by design.
    for (const d of dirs) await stopLocalAgent(join(d, 'server', 'local-agent'));
    for (const d of dirs.splice(0)) await removeDir(d);
  });
  const home = async () => {
    const d = await tempDir('dstack-pg-daemon-');
    dirs.push(d);
    return d;
  };
  const start = async (h: string, env: Record<string, string>) => {
    const d = await runDaemon({ home: h, port: 0, exitOnCompromise: false, env: { ...process.env, DSTACK_AGENT_BIN: '/nonexistent', ...env } });
    open.push(d);
    return d;
  };
  const tokenOf = async (h: string) => /^token:\s*(\S+)/m.exec(await readFile(join(h, 'config.yml'), 'utf8'))?.[1] ?? '';
  /** A role with a password, so that the URL carries one (the cluster trusts loopback, so any password works). */
  const withPassword = async (url: string) => {
    await query(cluster.url, `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dstack_pw') THEN CREATE ROLE dstack_pw LOGIN SUPERUSER PASSWORD '${PASSWORD}'; END IF; END $$`);
    const u = new URL(url);
    u.username = 'dstack_pw';
    u.password = PASSWORD;
    return u.toString();
  };

  it('keeps runs and secrets in the database across a restart, writes no state.json, and never logs the password', async () => {
    const h = await home();
    const url = await withPassword(await cluster.createDatabase());
    // The real agent: a plan asks the local machine for its offer (the run scales from zero, so nothing starts).
    const env = { DSTACK_DATABASE_URL: url, DSTACK_AGENT_BIN: agentBin, DOCKER_HOST };
    const d = await start(h, env);
    const api = new Api(d.url, await tokenOf(h));
    const set = await api.call('PUT', '/api/secrets/HF_TOKEN', { value: 'hf-value-1' });
    expect(set.status).toBe(200);
    const applied = await api.call('POST', '/api/runs/apply', {
      config: { type: 'service', name: 'pg-web', image: 'dstack-test/node:latest', commands: ['sleep 1000'], port: 8000, replicas: '0..1', scaling: { metric: 'rps', target: 5 } },
      force: false,
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    // Answered once committed: the row is there now.
    expect((await query<{ name: string }>(url, 'SELECT name FROM runs')).map((r) => r.name)).toEqual(['pg-web']);
    expect(await query(url, 'SELECT name FROM secrets')).toEqual([{ name: 'HF_TOKEN' }]);
    await d.close();
    open.length = 0;

    const again = await start(h, env);
    const api2 = new Api(again.url, await tokenOf(h));
    const runs = await api2.call<{ runs: { name: string }[] }>('GET', '/api/runs');
    expect(runs.body.runs.map((r) => r.name)).toEqual(['pg-web']);
    const secrets = await api2.call<{ secrets: { name: string }[] }>('GET', '/api/secrets');
    expect(secrets.body.secrets.map((s) => s.name)).toEqual(['HF_TOKEN']);
    expect(existsSync(join(h, 'server', 'state.json'))).toBe(false);
    expect(existsSync(join(h, 'server', 'secrets.json'))).toBe(false);
    const log = await readFile(join(h, 'server', 'logs', 'daemon.log'), 'utf8');
    expect(log).toContain('state in postgres://dstack_pw:***@127.0.0.1');
    expect(log).not.toContain(PASSWORD);
  });

  it('config.yml server.database is used when the env var is not set', async () => {
    const h = await home();
    const url = await cluster.createDatabase();
    await start(h, {}).then((d) => d.close());
    open.length = 0;
    const config = await readFile(join(h, 'config.yml'), 'utf8');
    await writeFile(join(h, 'config.yml'), config.replace(/^server:\n/m, `server:\n  database: ${url}\n`));
    const env = { ...process.env };
    delete env.DSTACK_DATABASE_URL;
    const d = await runDaemon({ home: h, port: 0, exitOnCompromise: false, env: { ...env, DSTACK_AGENT_BIN: '/nonexistent' } });
    open.push(d);
    expect(await query(url, 'SELECT max(version) AS v FROM dstack_schema')).toEqual([{ v: 3 }]);
  });

  it('a second server on the same database stands by: it relays to the leader, and leads once the first stops', async () => {
    const url = await cluster.createDatabase();
    // The real agent: the leader's plan asks the local machine for its offer (the run scales from zero).
    const env = { DSTACK_DATABASE_URL: url, DSTACK_AGENT_BIN: agentBin, DOCKER_HOST };
    const firstHome = await home();
    const first = await start(firstHome, env);
    const secondHome = await home();
    // The same admin token on both: clients of either server use the one they have.
    await writeFile(join(secondHome, 'config.yml'), await readFile(join(firstHome, 'config.yml'), 'utf8'));
    const second = await start(secondHome, env);
    expect(first.role()).toBe('leader');
    expect(second.role()).toBe('standby');
    const health = async (d: Daemon) => (await (await fetch(`${d.url}/api/health`)).json()) as { role?: string; leader?: string; home: string };
    expect(await health(first)).toMatchObject({ role: 'leader', leader: first.url });
    // Answered by the standby itself (its own home), naming the leader.
    expect(await health(second)).toMatchObject({ role: 'standby', leader: first.url, home: secondHome });

    const token = await tokenOf(firstHome);
    const applied = await new Api(second.url, token).call('POST', '/api/runs/apply', {
      config: { type: 'service', name: 'pg-relayed', image: 'dstack-test/node:latest', commands: ['sleep 1000'], port: 8000, replicas: '0..1', scaling: { metric: 'rps', target: 5 } },
      force: false,
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    // Written by the leader, seen through either server.
    const names = async (d: Daemon) => (await new Api(d.url, token).call<{ runs: { name: string }[] }>('GET', '/api/runs')).body.runs.map((r) => r.name);
    expect(await names(first)).toEqual(['pg-relayed']);
    expect(await names(second)).toEqual(['pg-relayed']);
    expect(await query(url, 'SELECT name FROM runs')).toEqual([{ name: 'pg-relayed' }]);

    // A graceful stop releases the lease: the standby leads, on the address it already had.
    const port = second.port;
    await first.close();
    open.splice(open.indexOf(first), 1);
    await second.leading;
    expect(second.role()).toBe('leader');
    expect(second.port).toBe(port);
    expect(await health(second)).toMatchObject({ role: 'leader' });
    expect(await names(second)).toEqual(['pg-relayed']);
  });

  it('a URL that is not PostgreSQL, or a database that does not answer, fails before listening, naming where', async () => {
    const bad = await start(await home(), { DSTACK_DATABASE_URL: 'mysql://root:secret@127.0.0.1/x' }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'DATABASE_URL_INVALID', message: expect.stringContaining('DSTACK_DATABASE_URL') });
    expect(String((bad as Error).message)).not.toContain('secret');
    const closed = new URL(cluster.url);
    closed.port = '1';
    closed.password = PASSWORD;
    const down = await start(await home(), { DSTACK_DATABASE_URL: closed.toString() }).catch((e: unknown) => e);
    expect(down).toMatchObject({ code: 'DATABASE_UNREACHABLE', message: expect.stringContaining('127.0.0.1:1/postgres') });
    expect(`${(down as DstackError).message} ${(down as DstackError).hint ?? ''}`).not.toContain(PASSWORD);
  });
});
