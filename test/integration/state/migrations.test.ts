import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, SCHEMA_VERSION, migrate, type Migration } from '../../../src/daemon/state/pg/migrations.js';
import { openPgStateStore } from '../../../src/daemon/state/pg/pg-store.js';
import { query, startTestPostgres, type TestPostgres } from '../../helpers/postgres.js';

let cluster: TestPostgres;
beforeAll(async () => {
  cluster = await startTestPostgres();
});
afterAll(() => cluster?.stop());

const clients: pg.Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.end();
});

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  clients.push(client);
  return client;
}

/** Every table, column and schema row: what "nothing changed" compares. */
async function shape(url: string): Promise<unknown> {
  const columns = await query(url, `SELECT table_name, column_name, data_type FROM information_schema.columns
    WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`);
  const tables = columns.map((c) => c.table_name);
  const versions = tables.includes('dstack_schema') ? await query(url, 'SELECT version, name FROM dstack_schema ORDER BY version') : [];
  return { columns, versions };
}

describe('PostgreSQL state migrations', () => {
  it('create the schema in an empty database and record each version', async () => {
    const url = await cluster.createDatabase();
    const logs: string[] = [];
    expect(await migrate(await connect(url), (l) => logs.push(l))).toEqual([1, 2, 3]);
    expect(SCHEMA_VERSION).toBe(3);
    const tables = await query<{ table_name: string }>(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1");
    expect(tables.map((t) => t.table_name)).toEqual(['dstack_schema', 'fleets', 'instances', 'projects', 'runs', 'secrets', 'server_files', 'server_leader', 'users']);
    expect(await query(url, 'SELECT version, name FROM dstack_schema ORDER BY version')).toEqual([
      { version: 1, name: MIGRATIONS[0]?.name },
      { version: 2, name: MIGRATIONS[1]?.name },
      { version: 3, name: MIGRATIONS[2]?.name },
    ]);
    expect(logs).toEqual([
      expect.stringContaining('migrated to version 1'),
      expect.stringContaining('migrated to version 2'),
      expect.stringContaining('migrated to version 3'),
    ]);
  });

  it('running again applies nothing and changes nothing', async () => {
    const url = await cluster.createDatabase();
    await migrate(await connect(url), () => {});
    const before = await shape(url);
    const logs: string[] = [];
    expect(await migrate(await connect(url), (l) => logs.push(l))).toEqual([]);
    expect([await shape(url), logs]).toEqual([before, []]);
  });

  it('refuse a database migrated by a newer dstack and leave it as it was', async () => {
    const url = await cluster.createDatabase();
    await migrate(await connect(url), () => {});
    await query(url, "INSERT INTO dstack_schema (version, name) VALUES (99, 'from the future')");
    const before = await shape(url);
    await expect(migrate(await connect(url), () => {})).rejects.toMatchObject({
      code: 'STATE_SCHEMA_NEWER',
      message: expect.stringMatching(/schema version 99, this dstack knows up to 3/),
      hint: expect.stringContaining('upgrade dstack'),
    });
    expect(await shape(url)).toEqual(before);
    // The server refuses it the same way when it opens its state.
    await expect(openPgStateStore(url, { log: () => {} })).rejects.toMatchObject({ code: 'STATE_SCHEMA_NEWER' });
  });

  it('a newer database with none of the known tables gets none of them', async () => {
    const url = await cluster.createDatabase();
    await query(url, 'CREATE TABLE dstack_schema (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
    await query(url, "INSERT INTO dstack_schema (version, name) VALUES (99, 'from the future')");
    const before = await shape(url);
    await expect(migrate(await connect(url), () => {})).rejects.toMatchObject({ code: 'STATE_SCHEMA_NEWER' });
    expect(await shape(url)).toEqual(before);
  });

  it('a migration that fails leaves the database as it was, schema table included', async () => {
    const url = await cluster.createDatabase();
    const broken: Migration[] = [...MIGRATIONS, { version: SCHEMA_VERSION + 1, name: 'broken', sql: 'CREATE TABLE extra (a int); SELECT no_such_function()' }];
    await expect(migrate(await connect(url), () => {}, broken)).rejects.toMatchObject({ code: '42883' });
    expect(await shape(url)).toEqual({ columns: [], versions: [] });
  });

  it('migration 2 brings a version-1 database with rows to users and projects, keeping its rows, and the store uses them', async () => {
    const url = await cluster.createDatabase();
    expect(await migrate(await connect(url), () => {}, MIGRATIONS.filter((m) => m.version === 1))).toEqual([1]);
    await query(url, `INSERT INTO instances (name, record, version) VALUES ('host-1', '{"name":"host-1","backend":"ssh","status":"idle","unreachable":false,"createdAt":5}', 3)`);
    const logs: string[] = [];
    expect(await migrate(await connect(url), (l) => logs.push(l), MIGRATIONS.filter((m) => m.version <= 2))).toEqual([2]);
    expect(logs).toEqual([expect.stringContaining('migrated to version 2 (users, projects)')]);
    const columns = await query(url, `SELECT table_name, column_name, data_type FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name IN ('users', 'projects') ORDER BY table_name, ordinal_position`);
    const shapeOf = (table: string) => columns.filter((c) => c.table_name === table).map((c) => `${String(c.column_name)} ${String(c.data_type)}`);
    const expected = ['name text', 'record jsonb', 'version bigint', 'updated_at timestamp with time zone'];
    expect([shapeOf('users'), shapeOf('projects')]).toEqual([expected, expected]);
    expect(await query(url, 'SELECT name, version FROM instances')).toEqual([{ name: 'host-1', version: '3' }]);

    const store = await openPgStateStore(url, { log: () => {} });
    try {
      expect(store.instances().map((i) => i.name)).toEqual(['host-1']);
      expect([store.users(), store.projects()]).toEqual([[], []]);
      store.putUser({ name: 'ann', globalRole: 'admin', tokenHash: 'a'.repeat(64), createdAt: 1 });
      await store.flush();
    } finally {
      await store.close();
    }
    expect(await query(url, 'SELECT name FROM users')).toEqual([{ name: 'ann' }]);
  });

  it('migration 3 adds the leader lease and the server files, with one lease row at most', async () => {
    const url = await cluster.createDatabase();
    await migrate(await connect(url), () => {});
    const columns = await query<{ table_name: string; column_name: string; data_type: string }>(url, `SELECT table_name, column_name, data_type
      FROM information_schema.columns WHERE table_name IN ('server_leader', 'server_files') ORDER BY table_name, ordinal_position`);
    const shapeOf = (table: string) => columns.filter((c) => c.table_name === table).map((c) => `${c.column_name} ${c.data_type}`);
    expect(shapeOf('server_leader')).toEqual(['id integer', 'server_id text', 'url text', 'epoch bigint', 'backend_pid integer', 'expires_at timestamp with time zone', 'acquired_at timestamp with time zone', 'relay_key text']);
    expect(shapeOf('server_files')).toEqual(['path text', 'content bytea', 'mode integer', 'updated_at timestamp with time zone']);
    await expect(query(url, "INSERT INTO server_leader (id, server_id, url, epoch, backend_pid, expires_at) VALUES (2, 's', 'u', 1, 1, now())")).rejects.toMatchObject({ code: '23514' });
  });

  it('two servers migrating at once make one schema, each without error', async () => {
    const url = await cluster.createDatabase();
    const [a, b] = [await connect(url), await connect(url)];
    const applied = await Promise.all([migrate(a, () => {}), migrate(b, () => {})]);
    expect(applied.map((v) => v.length).sort()).toEqual([0, 3]);
    expect(await query(url, 'SELECT version FROM dstack_schema ORDER BY version')).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }]);
  });
});
