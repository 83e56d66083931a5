/**
 * The PostgreSQL secret store against a real PostgreSQL (test/helpers/postgres.ts): the file store's semantics
 * (createdAt kept on replace, updatedAt unchanged by the same value), changes committed before they are answered
 * and seen by a store opened afterwards, and no value in any error.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DstackError } from '../../../src/core/errors.js';
import { openPgSecretStore, type PgSecretStore } from '../../../src/daemon/secrets/pg-store.js';
import { migrate } from '../../../src/daemon/state/pg/migrations.js';
import { query, startTestPostgres, type TestPostgres } from '../../helpers/postgres.js';

let cluster: TestPostgres;
beforeAll(async () => {
  cluster = await startTestPostgres();
});
afterAll(() => cluster?.stop());

async function migratedDatabase(): Promise<string> {
  const url = await cluster.createDatabase();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await migrate(client, () => {});
  } finally {
    await client.end();
  }
  return url;
}

/** A clock that moves one second per reading, so every write gets its own time. */
const ticking = (start = 1_000_000) => {
  let now = start;
  return () => (now += 1000);
};

async function rejection(p: Promise<unknown>): Promise<DstackError> {
  const e: unknown = await p.then(() => undefined, (err: unknown) => err);
  if (!(e instanceof DstackError)) throw new Error(`expected a DstackError, got ${String(e)}`);
  return e;
}

describe('PgSecretStore', () => {
  it('creates, replaces and deletes with the file store semantics, and a store opened later sees the same', async () => {
    const url = await migratedDatabase();
    const store = await openPgSecretStore(url, ticking());
    try {
      const first = await store.set('main', 'hf_token', 'hf-value-1');
      expect(first).toEqual({ created: true, secret: { name: 'hf_token', createdAt: 1_001_000, updatedAt: 1_001_000 } });
      // Committed before the answer: another connection sees the row at once.
      expect(await query(url, 'SELECT project, name, value FROM secrets')).toEqual([{ project: 'main', name: 'hf_token', value: 'hf-value-1' }]);

      const same = await store.set('main', 'hf_token', 'hf-value-1');
      expect(same).toEqual({ created: false, secret: { name: 'hf_token', createdAt: 1_001_000, updatedAt: 1_001_000 } });
      const replaced = await store.set('main', 'hf_token', 'hf-value-2');
      expect(replaced).toEqual({ created: false, secret: { name: 'hf_token', createdAt: 1_001_000, updatedAt: 1_003_000 } });

      await store.set('main', 'a_first', 'a-value');
      await store.set('team', 'hf_token', 'team-value');
      expect(store.list('main').map((s) => s.name)).toEqual(['a_first', 'hf_token']);
      expect(store.values('main')).toEqual(new Map([['hf_token', 'hf-value-2'], ['a_first', 'a-value']]));
      expect(store.values('nobody').size).toBe(0);
      expect(store.allValues().sort()).toEqual(['a-value', 'hf-value-2', 'team-value']);

      expect(await store.delete('main', 'a_first')).toEqual({ name: 'a_first', createdAt: 1_004_000, updatedAt: 1_004_000 });
      expect(await store.delete('main', 'a_first')).toBeUndefined();
      expect(store.list('main').map((s) => s.name)).toEqual(['hf_token']);
    } finally {
      await store.close();
    }

    const reopened = await openPgSecretStore(url, ticking());
    try {
      expect(reopened.list('main')).toEqual([{ name: 'hf_token', createdAt: 1_001_000, updatedAt: 1_003_000 }]);
      expect(reopened.values('team')).toEqual(new Map([['hf_token', 'team-value']]));
      expect(reopened.allValues().sort()).toEqual(['hf-value-2', 'team-value']);
    } finally {
      await reopened.close();
    }
  });

  it('takes a pool it does not own, and leaves it open on close', async () => {
    const url = await migratedDatabase();
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    try {
      const store = await openPgSecretStore(pool, ticking());
      await store.set('main', 'k', 'pool-value');
      await store.close();
      expect((await pool.query<{ value: string }>('SELECT value FROM secrets')).rows).toEqual([{ value: 'pool-value' }]);
    } finally {
      await pool.end();
    }
  });

  it('refuses a value PostgreSQL cannot store, naming the secret but not the value, and keeps memory as it was', async () => {
    const url = await migratedDatabase();
    const store = await openPgSecretStore(url, ticking());
    try {
      const value = 'nul-secret-\u0000-tail-8c1f';
      const e = await rejection(store.set('main', 'bad', value));
      expect(e.code).toBe('SECRET_VALUE_INVALID');
      expect(e.message).toContain('bad');
      expect(e.message).not.toContain('nul-secret');
      expect(store.list('main')).toEqual([]);
      expect(await query(url, 'SELECT * FROM secrets')).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('reports a failed write without the value, and memory does not lead the database', async () => {
    const url = await migratedDatabase();
    const store = await openPgSecretStore(url, ticking());
    try {
      await store.set('main', 'kept', 'kept-value-77aa');
      await query(url, 'ALTER TABLE secrets RENAME TO secrets_away');
      const e = await rejection(store.set('main', 'lost', 'lost-value-91bc'));
      expect(e.code).toBe('SECRET_STORE_FAILED');
      expect(e.message).toContain('lost');
      expect(`${e.message} ${e.hint ?? ''} ${String(e.cause ?? '')}`).not.toContain('lost-value-91bc');
      const d = await rejection(store.delete('main', 'kept'));
      expect(d.code).toBe('SECRET_STORE_FAILED');
      expect(store.values('main')).toEqual(new Map([['kept', 'kept-value-77aa']]));

      // The store keeps serving once the database is back.
      await query(url, 'ALTER TABLE secrets_away RENAME TO secrets');
      expect((await store.set('main', 'lost', 'lost-value-91bc')).created).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('fails to open on a database without the schema, with a typed error', async () => {
    const url = await cluster.createDatabase();
    const e = await rejection(openPgSecretStore(url, ticking()));
    expect(e.code).toBe('SECRET_STORE_FAILED');
    expect(e.message).toContain('"secrets" does not exist');
  });
});
