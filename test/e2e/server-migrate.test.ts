/**
 * `dstack server migrate --from-json` through the built CLI against a real PostgreSQL: a home written by the JSON
 * store is imported (the one result line on stdout, progress on stderr), a second import is refused, and the
 * database comes from --database, DSTACK_DATABASE_URL or config.yml. The URL's password and the secret values
 * appear in no output. Needs `npm run build` and the PostgreSQL server binaries; no Docker.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { writeJsonHome } from '../helpers/json-home.js';
import { query, startTestPostgres, type TestPostgres } from '../helpers/postgres.js';
import { newCli, type Cli } from './cli-harness.js';

const PASSWORD = 'pw-e2e-migrate-6f0d2b';
const SECRETS: [string, string, string] = ['hf-e2e-31c9aa', 'db-e2e-7b20fe', 'team-e2e-c4d815'];
let cluster: TestPostgres;
let cli: Cli;
const dirs: string[] = [];

beforeAll(async () => {
  cluster = await startTestPostgres();
  cli = await newCli();
});
afterAll(async () => {
  await cluster?.stop();
  if (!process.env.DSTACK_TEST_KEEP) for (const d of [cli?.home, cli?.dir, ...dirs]) if (d) await rm(d, { recursive: true, force: true });
});

/** A fresh database's URL with a password in it: the test cluster trusts loopback, so it is only carried along. */
async function databaseWithPassword(): Promise<{ url: string; shown: string }> {
  const u = new URL(await cluster.createDatabase());
  u.username ||= 'postgres';
  u.password = PASSWORD;
  const shown = new URL(u);
  shown.password = '***';
  return { url: u.toString(), shown: shown.toString() };
}

async function sourceHome(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dstack-e2e-migrate-src-'));
  dirs.push(dir);
  await writeJsonHome(dir, SECRETS);
  return dir;
}

// Set empty, so that a DSTACK_DATABASE_URL of the environment running the tests never leaks in.
const NO_DB = { DSTACK_DATABASE_URL: '' };

function expectNoLeak(r: { stdout: string; stderr: string }) {
  for (const s of [PASSWORD, ...SECRETS]) {
    expect(r.stdout).not.toContain(s);
    expect(r.stderr).not.toContain(s);
  }
}

const counts = async (url: string) =>
  (await query(url, 'SELECT (SELECT count(*) FROM runs)::int AS runs, (SELECT count(*) FROM instances)::int AS instances, (SELECT count(*) FROM fleets)::int AS fleets, (SELECT count(*) FROM secrets)::int AS secrets'))[0];

describe('dstack server migrate --from-json', () => {
  it('imports a home into DSTACK_DATABASE_URL, then refuses to import into it again', async () => {
    const src = await sourceHome();
    const db = await databaseWithPassword();
    const first = await cli.run(['server', 'migrate', '--from-json', src], { env: { DSTACK_DATABASE_URL: db.url } });
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toBe(`Imported 2 runs, 2 instances, 1 fleets, 3 secrets into ${db.shown}`);
    expect(first.stderr).toContain('schema migrated to version 1');
    expectNoLeak(first);
    expect(await counts(db.url)).toEqual({ runs: 2, instances: 2, fleets: 1, secrets: 3 });
    expect((await query<{ value: string }>(db.url, 'SELECT value FROM secrets ORDER BY value')).map((r) => r.value)).toEqual([...SECRETS].sort());

    const again = await cli.run(['server', 'migrate', '--from-json', join(src, 'server', 'state.json')], { env: { DSTACK_DATABASE_URL: db.url } });
    expect(again.exitCode).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toContain('already holds 2 runs, 2 instances, 1 fleets, 3 secrets');
    expectNoLeak(again);
    // The command is not one that starts a daemon.
    expect(await cli.daemonPid()).toBeUndefined();
  });

  it('takes --database over the environment, and config.yml server.database when neither is set', async () => {
    const flagDb = await databaseWithPassword();
    const r = await cli.run(['server', 'migrate', '--from-json', await sourceHome(), '--database', flagDb.url], { env: { DSTACK_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/unused' } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`into ${flagDb.shown}`);
    expectNoLeak(r);

    const configDb = await databaseWithPassword();
    const home = await mkdtemp(join(tmpdir(), 'dstack-e2e-migrate-home-'));
    dirs.push(home);
    const config = { version: 1, default_project: 'main', user: 'admin', token: 'e2e-token-0123456789abcdef', server: { database: configDb.url }, projects: [{ name: 'main', tokens: [] }] };
    await writeFile(join(home, 'config.yml'), stringify(config), { mode: 0o600 });
    const c = await cli.run(['server', 'migrate', '--from-json', await sourceHome()], { env: { ...NO_DB, DSTACK_HOME: home } });
    expect(c.exitCode, c.stderr).toBe(0);
    expect(c.stdout).toContain(`into ${configDb.shown}`);
    expect(await counts(configDb.url)).toEqual({ runs: 2, instances: 2, fleets: 1, secrets: 3 });
  });

  it('warns on stderr when a live daemon owns the home it reads', async () => {
    const src = await sourceHome();
    await writeFile(join(src, 'server', 'daemon.json'), JSON.stringify({ pid: process.pid, port: 3000 }));
    const db = await databaseWithPassword();
    const r = await cli.run(['server', 'migrate', '--from-json', src, '--database', db.url]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`a dstack daemon (pid ${process.pid}) is running`);
  });

  it('fails clearly: no state file, no database, an unreachable database, a missing flag', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'dstack-e2e-migrate-empty-'));
    dirs.push(empty);
    const db = await databaseWithPassword();
    const missing = await cli.run(['server', 'migrate', '--from-json', empty, '--database', db.url]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain(join(empty, 'server', 'state.json'));
    expectNoLeak(missing);

    const noDb = await cli.run(['server', 'migrate', '--from-json', await sourceHome()], { env: NO_DB });
    expect(noDb.exitCode).toBe(1);
    expect(noDb.stderr).toContain('--database');
    expect(noDb.stderr).toContain('DSTACK_DATABASE_URL');

    const down = await cli.run(['server', 'migrate', '--from-json', await sourceHome()], { env: { DSTACK_DATABASE_URL: `postgres://postgres:${PASSWORD}@127.0.0.1:1/nothing` } });
    expect(down.exitCode).toBe(1);
    expect(down.stderr).toContain('127.0.0.1:1/nothing');
    expectNoLeak(down);

    const usage = await cli.run(['server', 'migrate']);
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toContain('Missing required flag from-json');
  });
});
