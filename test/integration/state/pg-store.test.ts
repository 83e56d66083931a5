import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FleetRecord, InstanceRecord, RunRecord } from '../../../src/core/state/schema.js';
import { openPgStateStore, type PgStateOptions, type PgStateStore } from '../../../src/daemon/state/pg/pg-store.js';
import { serviceConfig } from '../../helpers/configs.js';
import { query, startTestPostgres, type TestPostgres } from '../../helpers/postgres.js';

let cluster: TestPostgres;
beforeAll(async () => {
  cluster = await startTestPostgres();
});
afterAll(() => cluster?.stop());

const opened: PgStateStore[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close().catch(() => undefined);
});

async function open(url: string, options: Partial<PgStateOptions> = {}): Promise<PgStateStore> {
  const store = await openPgStateStore(url, { log: () => {}, ...options });
  opened.push(store);
  return store;
}

// Records made by their schemas, so they equal what a reload parses back.
const instance = (name: string, over: Partial<InstanceRecord> = {}): InstanceRecord =>
  InstanceRecord.parse({ name, backend: 'ssh', status: 'idle', createdAt: 0, ...over });
const fleet = (project: string, name: string, createdAt = 1): FleetRecord =>
  FleetRecord.parse({ name, project, status: 'active', createdAt, configRaw: { type: 'fleet', name } });
const run = (id: string, over: Partial<RunRecord> = {}): RunRecord =>
  RunRecord.parse({
    id, name: 'svc', project: 'main', user: 'admin', configRaw: { type: 'service' }, config: serviceConfig(),
    settings: { replicas: { min: 1, max: 1 }, autoscaling: false, probes: [], tcpCheck: true, stopDurationSeconds: 1,
      creationPolicy: 'reuse-or-create', auth: true, stripPrefix: true, rateLimits: [] },
    specTemplate: { runName: 'svc', image: 'img', port: 8000 },
    status: 'running', submittedAt: 10, deployment: 0, desiredReplicas: 1, replicas: [], ...over,
  });

/** Counts the database transactions that wrote state rows: a statement trigger notes each transaction id once. */
async function countTransactions(url: string): Promise<() => Promise<number>> {
  await query(url, 'CREATE TABLE tx_seen (txid bigint PRIMARY KEY)');
  await query(url, `CREATE FUNCTION note_tx() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO tx_seen VALUES (txid_current()) ON CONFLICT DO NOTHING; RETURN NULL; END $$`);
  for (const t of ['runs', 'instances', 'fleets']) {
    await query(url, `CREATE TRIGGER note_tx AFTER INSERT OR UPDATE OR DELETE ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION note_tx()`);
  }
  return async () => (await query<{ n: number }>(url, 'SELECT count(*)::int AS n FROM tx_seen'))[0]?.n ?? -1;
}

/** Makes writes to `instances` fail while table refuse_writes has a row; a sequence (never rolled back) counts tries. */
async function refuseWrites(url: string) {
  await query(url, 'CREATE TABLE refuse_writes (on_ boolean); CREATE SEQUENCE refused');
  await query(url, `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    IF EXISTS (SELECT 1 FROM refuse_writes) THEN PERFORM nextval('refused'); RAISE EXCEPTION 'writes refused by the test'; END IF;
    RETURN NULL; END $$`);
  await query(url, 'CREATE TRIGGER refuse BEFORE INSERT OR UPDATE OR DELETE ON instances FOR EACH STATEMENT EXECUTE FUNCTION refuse()');
  const tries = async () => (await query<{ n: number }>(url, 'SELECT CASE WHEN is_called THEN last_value ELSE 0 END::int AS n FROM refused'))[0]?.n ?? 0;
  return {
    on: () => query(url, 'INSERT INTO refuse_writes VALUES (true)'),
    off: () => query(url, 'DELETE FROM refuse_writes'),
    /** Waits until at least `n` writes were refused in all (the deadline bounds the wait; it is no assertion on speed). */
    async waitForTries(n: number) {
      const deadline = Date.now() + 30_000;
      while ((await tries()) < n) {
        if (Date.now() > deadline) throw new Error(`fewer than ${n} refused writes in time`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

describe('PostgreSQL state store', () => {
  it('puts, updates, removes and transactions survive close and reopen, in the order they were written', async () => {
    const url = await cluster.createDatabase();
    const store = await open(url);
    store.putInstance(instance('b', { createdAt: 1 }));
    store.putInstance(instance('a', { createdAt: 2 }));
    store.putInstance(instance('c', { createdAt: 3 }));
    store.updateInstance('a', (i) => ({ ...i, status: 'busy' }));
    store.removeInstance('b');
    store.putInstance(instance('b', { createdAt: 4 }));
    store.putFleet(fleet('main', 'f'));
    store.putFleet(fleet('other', 'f', 2));
    store.putRun(run('r1'));
    store.transaction((tx) => {
      tx.removeFleet('other', 'f');
      tx.putRun(run('r2', { submittedAt: 20 }));
      tx.putRun({ ...run('r1'), status: 'terminating' });
    });
    const seen = { instances: store.instances(), fleets: store.fleets(), runs: store.runs() };
    expect(seen.instances.map((i) => `${i.name}:${i.status}`)).toEqual(['a:busy', 'c:idle', 'b:idle']);
    await store.close();

    const again = await open(url);
    expect({ instances: again.instances(), fleets: again.fleets(), runs: again.runs() }).toEqual(seen);
    expect(again.run('r1')?.status).toBe('terminating');
    expect(again.fleet('other', 'f')).toBeUndefined();
    expect(await query(url, 'SELECT project, name FROM runs ORDER BY id')).toEqual([{ project: 'main', name: 'svc' }, { project: 'main', name: 'svc' }]);
  });

  it('a transaction that throws leaves memory and the database as they were; one that returns applies every write', async () => {
    const url = await cluster.createDatabase();
    const store = await open(url);
    store.putInstance(instance('a'));
    await store.flush();
    const transactions = await countTransactions(url);
    expect(() =>
      store.transaction((tx) => {
        tx.removeInstance('a');
        tx.putInstance(instance('b'));
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(store.instances().map((i) => i.name)).toEqual(['a']);
    await store.flush();
    expect(await transactions()).toBe(0);
    expect((await open(url)).instances().map((i) => i.name)).toEqual(['a']);

    const inside = store.transaction((tx) => {
      tx.removeInstance('a');
      tx.putInstance(instance('b'));
      return tx.instances().map((i) => i.name);
    });
    expect([inside, store.instances().map((i) => i.name)]).toEqual([['b'], ['b']]);
    await store.flush();
    expect(await transactions()).toBe(1);
    expect((await open(url)).instances().map((i) => i.name)).toEqual(['b']);
  });

  it('what was written before flush resolves is committed: a second store opened then sees it', async () => {
    const url = await cluster.createDatabase();
    const store = await open(url);
    store.putRun(run('r1'));
    store.putFleet(fleet('main', 'f'));
    await store.flush();
    const second = await open(url);
    expect([second.runs(), second.fleets()]).toEqual([[run('r1')], [fleet('main', 'f')]]);
  });

  it('coalesces a burst of writes into one transaction, and writes made during a batch into the next', async () => {
    const url = await cluster.createDatabase();
    const store = await open(url);
    const transactions = await countTransactions(url);
    for (let i = 0; i < 200; i++) store.putInstance(instance(`i${i % 20}`, { createdAt: i }));
    for (let i = 0; i < 20; i++) store.putRun(run(`r${i}`));
    store.removeRun('r0');
    await store.flush();
    expect(await transactions()).toBe(1);
    expect(await query(url, 'SELECT count(*)::int AS n, max(version)::int AS v FROM instances')).toEqual([{ n: 20, v: 1 }]);

    store.putInstance(instance('i0', { status: 'busy' }));
    await new Promise((r) => setImmediate(r));
    for (let i = 0; i < 50; i++) store.putInstance(instance('i1', { createdAt: i }));
    await store.flush();
    expect(await transactions()).toBe(3);
    expect(await query(url, "SELECT name, version::int AS v FROM instances WHERE name IN ('i0', 'i1') ORDER BY name")).toEqual([
      { name: 'i0', v: 2 },
      { name: 'i1', v: 2 },
    ]);
    expect((await open(url)).instance('i1')?.createdAt).toBe(49);
  });

  it('compare-and-set: a missing record gives undefined, an unchanged one writes nothing', async () => {
    const url = await cluster.createDatabase();
    const store = await open(url);
    store.putRun(run('r1'));
    store.putInstance(instance('a'));
    await store.flush();
    const transactions = await countTransactions(url);
    expect(store.updateRun('missing', (r) => ({ ...r, status: 'failed' }))).toBeUndefined();
    expect(store.updateInstance('missing', (i) => ({ ...i, status: 'busy' }))).toBeUndefined();
    expect(store.updateFleet('main', 'missing', (f) => ({ ...f, status: 'failed' }))).toBeUndefined();
    expect(store.updateInstance('a', (i) => i)).toEqual(instance('a'));
    expect(store.updateRun('r1', () => undefined)).toEqual(run('r1'));
    await store.flush();
    expect(await transactions()).toBe(0);
    expect(store.updateRun('r1', (r) => ({ ...r, desiredReplicas: 3 }))?.desiredReplicas).toBe(3);
    await store.flush();
    expect(await query(url, 'SELECT version::int AS v, (record->>\'desiredReplicas\')::int AS d FROM runs')).toEqual([{ v: 2, d: 3 }]);
  });

  it('refuses to start on a row its schema rejects, naming the table, the key and the field', async () => {
    const url = await cluster.createDatabase();
    await (await open(url)).close();
    await query(url, `INSERT INTO instances (name, record, version) VALUES ('bad', '{"name":"bad","backend":"ssh","status":"weird","createdAt":0}', 1)`);
    await expect(openPgStateStore(url, { log: () => {} })).rejects.toMatchObject({
      code: 'STATE_CORRUPT',
      message: expect.stringMatching(/Row bad of table instances .*: status: /),
    });
    await query(url, 'DELETE FROM instances');
    await query(url, `INSERT INTO instances (name, record, version) VALUES ('x', $1, 1)`, [JSON.stringify(instance('y'))]);
    await expect(openPgStateStore(url, { log: () => {} })).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringContaining('belongs to key y') });
  });

  it('retries a failed batch until it is written, reporting each streak of failures once, the password never shown', async () => {
    const password = 'pw-never-shown-7f3a';
    const base = new URL(await cluster.createDatabase());
    base.password = password; // trust auth accepts any; the store must still keep it out of what it says
    const url = base.toString();
    const logs: string[] = [];
    const errors: Array<{ code?: string; message: string }> = [];
    const store = await open(url, { log: (l) => logs.push(l), onError: (e) => errors.push(e as Error), retryDelayMs: 5 });
    const refuse = await refuseWrites(url);

    await refuse.on();
    store.putInstance(instance('a'));
    await refuse.waitForTries(3);
    expect(errors).toEqual([expect.objectContaining({ code: 'STATE_WRITE_FAILED', message: expect.stringContaining('writes refused by the test') })]);
    store.putInstance(instance('b'));
    await refuse.off();
    await store.flush();
    expect((await open(url)).instances().map((i) => i.name)).toEqual(['a', 'b']);

    await refuse.on();
    store.removeInstance('a');
    await refuse.waitForTries(5);
    expect(errors).toHaveLength(2);
    await refuse.off();
    await store.flush();
    expect((await open(url)).instances().map((i) => i.name)).toEqual(['b']);

    // Closing while the database refuses: the changes not written are reported, not silently dropped.
    await refuse.on();
    store.putInstance(instance('c'));
    await expect(store.close()).rejects.toMatchObject({ code: 'STATE_WRITE_FAILED', message: expect.stringContaining('1 changed record(s) could not be written') });
    const said = [...logs, ...errors.map((e) => e.message)].join('\n');
    expect(said).not.toContain(password);
    expect(errors.length).toBe(3);
  });

  it('an unreachable database is a user error naming host, port and database, never the password', async () => {
    const password = 'pw-never-shown-91c2';
    const closedPort = new URL(cluster.url);
    closedPort.port = '1';
    closedPort.password = password;
    closedPort.pathname = '/dstack';
    const refused = openPgStateStore(closedPort.toString(), { log: () => {} });
    await expect(refused).rejects.toMatchObject({ code: 'DATABASE_UNREACHABLE', message: expect.stringMatching(/127\.0\.0\.1:1\/dstack: .*ECONNREFUSED/) });
    const missing = new URL(cluster.url);
    missing.password = password;
    missing.pathname = '/no_such_database';
    const noDatabase = openPgStateStore(missing.toString(), { log: () => {} });
    await expect(noDatabase).rejects.toMatchObject({ code: 'DATABASE_UNREACHABLE', message: expect.stringMatching(/\/no_such_database: .*3D000/) });
    for (const attempt of [refused, noDatabase]) {
      const e = (await attempt.catch((x: unknown) => x)) as Error & { hint?: string; cause?: unknown };
      expect(`${e.message} ${e.hint ?? ''} ${String(e.cause ?? '')}`).not.toContain(password);
    }
  });

  it('a record with a NUL character (jsonb refuses U+0000) is stored with U+FFFD instead of blocking every write', async () => {
    const url = await cluster.createDatabase();
    const store = await open(url);
    store.putInstance(instance('nul', { error: 'agent said: bad\u0000byte \\u0000 stays' }));
    store.putInstance(instance('other'));
    await store.flush();
    await store.close();
    const again = await open(url);
    expect(again.instance('nul')?.error).toBe('agent said: bad\ufffdbyte \\u0000 stays');
    expect(again.instance('other')).toBeDefined();
  });
  it('with a fence, writes land while the lease is its own; a takeover mid-write wins, and nothing more is written or retried', async () => {
    const url = await cluster.createDatabase();
    const fenced: Error[] = [];
    const errors: unknown[] = [];
    const store = await open(url, { fence: { serverId: 'a', epoch: 1 }, onFenced: (e) => fenced.push(e), onError: (e) => errors.push(e), retryDelayMs: 5 });
    await query(url, "INSERT INTO server_leader (id, server_id, url, epoch, backend_pid, expires_at) VALUES (1, 'a', 'http://a', 1, 0, now())");
    store.putInstance(instance('kept'));
    await store.flush();
    expect(await query(url, 'SELECT name FROM instances')).toEqual([{ name: 'kept' }]);

    // Another server takes over in a transaction still open: the batch's fence check waits on the lease row, then
    // sees the new epoch and writes nothing.
    const takeover = new pg.Client({ connectionString: url });
    await takeover.connect();
    try {
      await takeover.query('BEGIN');
      await takeover.query("UPDATE server_leader SET server_id = 'b', epoch = 2 WHERE id = 1");
      store.putInstance(instance('lost'));
      const flushed = store.flush();
      while ((await query(url, "SELECT 1 FROM pg_stat_activity WHERE application_name = 'dstack-state' AND wait_event_type = 'Lock' AND datname = current_database()")).length === 0) {
        await new Promise((r) => setTimeout(r, 10));
      }
      await takeover.query('COMMIT');
      await flushed;
    } finally {
      await takeover.end();
    }
    expect(fenced).toEqual([expect.objectContaining({ code: 'STATE_FENCED' })]);
    // Latched: even with the lease row back as it was, nothing more is written (the server is about to exit).
    await query(url, "UPDATE server_leader SET server_id = 'a', epoch = 1");
    store.putInstance(instance('later'));
    await store.flush();
    await expect(store.close()).rejects.toMatchObject({ code: 'STATE_FENCED' });
    expect([fenced.length, errors]).toEqual([1, []]);
    expect(await query(url, 'SELECT name FROM instances')).toEqual([{ name: 'kept' }]);
  });
});
