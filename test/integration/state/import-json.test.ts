/**
 * `importJsonState` against a real PostgreSQL: a home written by the JSON store and the file secret store comes out
 * of the PostgreSQL stores record for record; a database that already holds state, a server holding the database,
 * a failure halfway and bad input files all leave the database as it was.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DstackError } from '../../../src/core/errors.js';
import { openPgSecretStore } from '../../../src/daemon/secrets/pg-store.js';
import { importJsonState, locateJsonState } from '../../../src/daemon/state/pg/import-json.js';
import { openPgStateStore } from '../../../src/daemon/state/pg/pg-store.js';
import { acquireDatabaseLock } from '../../../src/daemon/state/pg/server-lock.js';
import { runRecord, writeJsonHome, type JsonHome } from '../../helpers/json-home.js';
import { query, startTestPostgres, type TestPostgres } from '../../helpers/postgres.js';

let cluster: TestPostgres;
const dirs: string[] = [];
beforeAll(async () => {
  cluster = await startTestPostgres();
});
afterAll(async () => {
  await cluster?.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const SECRETS: [string, string, string] = ['hf-import-5d1e', 'db-import-0a7c', 'team-import-93f2'];

async function home(): Promise<{ dir: string; written: JsonHome }> {
  const dir = await mkdtemp(join(tmpdir(), 'dstack-import-'));
  dirs.push(dir);
  return { dir, written: await writeJsonHome(dir, SECRETS) };
}

async function rejection(p: Promise<unknown>): Promise<DstackError> {
  const e: unknown = await p.then(() => undefined, (err: unknown) => err);
  if (!(e instanceof DstackError)) throw new Error(`expected a DstackError, got ${String(e)}`);
  return e;
}

/** Every row of the state tables, to compare a database before and after a refused import. */
const snapshot = async (url: string) => ({
  runs: await query(url, 'SELECT id, record, version FROM runs ORDER BY id'),
  instances: await query(url, 'SELECT name, record, version FROM instances ORDER BY name'),
  fleets: await query(url, 'SELECT project, name, record, version FROM fleets ORDER BY project, name'),
  secrets: await query(url, 'SELECT * FROM secrets ORDER BY project, name'),
});

const tableExists = async (url: string, table: string) => (await query<{ t: string | null }>(url, 'SELECT to_regclass($1)::text AS t', [table]))[0]?.t !== null;

const log = (lines: string[]) => (line: string) => void lines.push(line);

describe('importJsonState', () => {
  it('imports every run, instance, fleet and secret, which the PostgreSQL stores then load as they were', async () => {
    const { dir, written } = await home();
    const url = await cluster.createDatabase();
    const lines: string[] = [];
    const source = await locateJsonState(dir);
    expect(source).toEqual({ stateFile: written.stateFile, secretsFile: written.secretsFile, livePid: undefined });

    expect(await importJsonState({ ...source, url, log: log(lines) })).toEqual({ runs: 2, instances: 2, fleets: 1, secrets: 3 });
    expect(lines.join('\n')).toContain('schema migrated to version 1');
    expect(lines.join('\n')).not.toMatch(/import-[0-9a-f]{4}/);

    const store = await openPgStateStore(url, { log: () => {} });
    try {
      expect(store.runs()).toEqual(written.state.runs);
      expect(store.instances()).toEqual(written.state.instances);
      expect(store.fleets()).toEqual(written.state.fleets);
      expect(await query(url, 'SELECT DISTINCT version FROM runs UNION SELECT version FROM instances UNION SELECT version FROM fleets')).toEqual([{ version: '1' }]);
    } finally {
      await store.close();
    }
    const secrets = await openPgSecretStore(url);
    try {
      for (const s of written.secrets) {
        expect(secrets.list(s.project)).toContainEqual({ name: s.name, createdAt: s.createdAt, updatedAt: s.updatedAt });
        expect(secrets.values(s.project).get(s.name)).toBe(s.value);
      }
      expect(secrets.allValues().sort()).toEqual([...SECRETS].sort());
    } finally {
      await secrets.close();
    }
  });

  it('refuses a database that already holds state, naming what it holds, and changes nothing', async () => {
    const { written } = await home();
    const url = await cluster.createDatabase();
    await importJsonState({ stateFile: written.stateFile, secretsFile: written.secretsFile, url, log: () => {} });
    const before = await snapshot(url);

    // A different state, so that anything written would show.
    await writeFile(written.stateFile, JSON.stringify({ ...written.state, runs: [runRecord('run-9', 'other')], instances: [], fleets: [] }));
    const e = await rejection(importJsonState({ stateFile: written.stateFile, secretsFile: written.secretsFile, url, log: () => {} }));
    expect(e.code).toBe('DATABASE_NOT_EMPTY');
    expect(e.message).toContain('2 runs, 2 instances, 1 fleets, 3 secrets');
    expect(await snapshot(url)).toEqual(before);
  });

  it('counts a secret alone as state: a database with one secret is refused too', async () => {
    const { written } = await home();
    const url = await cluster.createDatabase();
    const empty = join(written.serverDir, 'empty-state.json');
    await writeFile(empty, JSON.stringify({ version: 1, runs: [], instances: [], fleets: [] }));
    await importJsonState({ stateFile: empty, secretsFile: written.secretsFile, url, log: () => {} });
    await query(url, "DELETE FROM secrets WHERE name <> 'hf_token'");
    const e = await rejection(importJsonState({ stateFile: written.stateFile, secretsFile: join(written.serverDir, 'none.json'), url, log: () => {} }));
    expect(e.code).toBe('DATABASE_NOT_EMPTY');
    expect(e.message).toContain('0 runs, 0 instances, 0 fleets, 1 secrets');
    expect(await query(url, 'SELECT count(*)::int AS n FROM runs')).toEqual([{ n: 0 }]);
  });

  it('imports nothing when a statement fails halfway: one transaction', async () => {
    const { written } = await home();
    const url = await cluster.createDatabase();
    // An empty import creates the schema, so the test can make the last table refuse its rows.
    await writeFile(join(written.serverDir, 'empty.json'), JSON.stringify({ version: 1, runs: [], instances: [], fleets: [] }));
    await importJsonState({ stateFile: join(written.serverDir, 'empty.json'), secretsFile: join(written.serverDir, 'none.json'), url, log: () => {} });
    await query(url, `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'secrets refused by the test'; END $$`);
    await query(url, 'CREATE TRIGGER refuse BEFORE INSERT ON secrets FOR EACH STATEMENT EXECUTE FUNCTION refuse()');

    const e = await rejection(importJsonState({ stateFile: written.stateFile, secretsFile: written.secretsFile, url, log: () => {} }));
    expect(e.code).toBe('IMPORT_FAILED');
    expect(e.message).toContain('secrets refused by the test');
    for (const s of SECRETS) expect(e.message).not.toContain(s);
    const after = await snapshot(url);
    expect([after.runs.length, after.instances.length, after.fleets.length, after.secrets.length]).toEqual([0, 0, 0, 0]);
  });

  it('refuses while a server holds the database', async () => {
    const { written } = await home();
    const url = await cluster.createDatabase();
    const release = await acquireDatabaseLock(url, () => {});
    try {
      const e = await rejection(importJsonState({ stateFile: written.stateFile, secretsFile: written.secretsFile, url, log: () => {} }));
      expect(e.code).toBe('DATABASE_IN_USE');
      expect(await tableExists(url, 'runs')).toBe(false);
    } finally {
      await release();
    }
  });

  it('names a missing state file and touches no database', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dstack-import-none-'));
    dirs.push(dir);
    const url = await cluster.createDatabase();
    const located = await rejection(locateJsonState(dir));
    expect(located.code).toBe('STATE_FILE_NOT_FOUND');
    expect(located.message).toContain(join(dir, 'server', 'state.json'));
    expect((await rejection(locateJsonState(join(dir, 'nope.json')))).message).toContain(join(dir, 'nope.json'));

    const e = await rejection(importJsonState({ stateFile: join(dir, 'state.json'), secretsFile: join(dir, 'secrets.json'), url, log: () => {} }));
    expect(e.code).toBe('STATE_FILE_NOT_FOUND');
    expect(e.message).toContain(join(dir, 'state.json'));
    expect(await tableExists(url, 'dstack_schema')).toBe(false);
  });

  it('refuses an invalid state file without moving it aside, and touches no database', async () => {
    const { written } = await home();
    const url = await cluster.createDatabase();
    const bad = JSON.stringify({ version: 1, runs: [{ id: 'x' }], instances: [], fleets: [] });
    await writeFile(written.stateFile, bad);
    const e = await rejection(importJsonState({ stateFile: written.stateFile, secretsFile: written.secretsFile, url, log: () => {} }));
    expect(e.code).toBe('STATE_CORRUPT');
    expect(e.message).toContain('runs.0');
    expect(await readFile(written.stateFile, 'utf8')).toBe(bad);
    expect(await tableExists(url, 'dstack_schema')).toBe(false);
  });

  it('finds the state from a server folder or the file itself, and a live daemon of that home', async () => {
    const { dir, written } = await home();
    expect((await locateJsonState(written.serverDir)).stateFile).toBe(written.stateFile);
    expect((await locateJsonState(written.stateFile)).secretsFile).toBe(written.secretsFile);
    await writeFile(join(written.serverDir, 'daemon.json'), JSON.stringify({ pid: process.pid, port: 3000 }));
    expect((await locateJsonState(dir)).livePid).toBe(process.pid);
    expect(existsSync(written.stateFile)).toBe(true);
  });
});
