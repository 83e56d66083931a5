/**
 * Users and projects (issue 17) in both state stores: written, updated, removed, in transactions, and read back
 * by the next server exactly as they were (the JSON file reloaded, the PostgreSQL rows reopened).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenHash } from '../../../src/core/auth/principal.js';
import { emptyState, ProjectRecord, UserRecord } from '../../../src/core/state/schema.js';
import type { StateStore } from '../../../src/core/state/store.js';
import { createJsonStateStore, loadState } from '../../../src/daemon/state/json-store.js';
import { describeCounts, importJsonState } from '../../../src/daemon/state/pg/import-json.js';
import { openPgStateStore } from '../../../src/daemon/state/pg/pg-store.js';
import { query, startTestPostgres, type TestPostgres } from '../../helpers/postgres.js';

const TOKEN = 'plain-token-never-stored-0123';
const user = (name: string, createdAt: number, globalRole: 'admin' | 'user' = 'user'): UserRecord =>
  UserRecord.parse({ name, globalRole, tokenHash: tokenHash(`${TOKEN}-${name}`), createdAt });
const project = (name: string, createdAt: number, members: ProjectRecord['members']): ProjectRecord =>
  ProjectRecord.parse({ name, createdAt, createdBy: members[0]?.user ?? 'nobody', members });

/** The same writes on either store; returns what it then reads, which a reopened store must read the same. */
function writeAccounts(store: StateStore) {
  store.putUser(user('ann', 1, 'admin'));
  store.putUser(user('bob', 2));
  store.putUser(user('cat', 3));
  store.putProject(project('main', 1, [{ user: 'ann', role: 'admin' }]));
  store.putProject(project('team', 2, [{ user: 'ann', role: 'admin' }, { user: 'bob', role: 'user' }]));
  expect(store.updateUser('bob', (u) => ({ ...u, globalRole: 'admin' }))?.globalRole).toBe('admin');
  expect(store.updateUser('nobody', (u) => u)).toBeUndefined();
  expect(store.updateProject('team', (p) => ({ ...p, members: [...p.members, { user: 'cat', role: 'manager' }] }))?.members).toHaveLength(3);
  store.removeUser('cat');
  expect(() =>
    store.transaction((tx) => {
      tx.removeProject('main');
      tx.putUser(user('dan', 4));
      throw new Error('boom');
    }),
  ).toThrow('boom');
  expect([store.project('main')?.name, store.user('dan')]).toEqual(['main', undefined]);
  store.transaction((tx) => {
    tx.putUser(user('eve', 5));
    tx.removeProject('main');
    expect(tx.projects().map((p) => p.name)).toEqual(['team']);
  });
  const seen = { users: store.users(), projects: store.projects() };
  expect(seen.users.map((u) => `${u.name}:${u.globalRole}`)).toEqual(['ann:admin', 'bob:admin', 'eve:user']);
  expect(seen.projects.map((p) => `${p.name}:${p.members.map((m) => `${m.user}=${m.role}`).join(',')}`)).toEqual(['team:ann=admin,bob=user,cat=manager']);
  return seen;
}

describe('users and projects in the JSON store', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'accounts-json-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('round-trip through state.json, which holds token hashes and never a token', async () => {
    const file = join(dir, 'state.json');
    const store = createJsonStateStore(file, emptyState());
    const seen = writeAccounts(store);
    await store.flush();
    const loaded = await loadState(file);
    expect({ users: loaded.users, projects: loaded.projects }).toEqual(seen);
    const text = await readFile(file, 'utf8');
    expect(text).toContain(tokenHash(`${TOKEN}-ann`));
    expect(text).not.toContain(TOKEN);
  });

  it('a state file written before users and projects existed loads with none', async () => {
    const file = join(dir, 'old.json');
    await writeFile(file, JSON.stringify({ version: 1, runs: [], instances: [], fleets: [] }));
    const loaded = await loadState(file);
    expect([loaded.users, loaded.projects]).toEqual([[], []]);
  });
});

describe('users and projects in the PostgreSQL store', () => {
  let cluster: TestPostgres;
  beforeAll(async () => {
    cluster = await startTestPostgres();
  });
  afterAll(() => cluster?.stop());

  it('round-trip through their tables, one row per record, never a token', async () => {
    const url = await cluster.createDatabase();
    const store = await openPgStateStore(url, { log: () => {} });
    let seen: ReturnType<typeof writeAccounts>;
    try {
      seen = writeAccounts(store);
      await store.flush();
    } finally {
      await store.close();
    }
    const again = await openPgStateStore(url, { log: () => {} });
    try {
      expect({ users: again.users(), projects: again.projects() }).toEqual(seen);
    } finally {
      await again.close();
    }
    expect(await query(url, 'SELECT name FROM users ORDER BY name')).toEqual([{ name: 'ann' }, { name: 'bob' }, { name: 'eve' }]);
    expect(await query(url, 'SELECT name FROM projects')).toEqual([{ name: 'team' }]);
    const rows = await query<{ record: unknown }>(url, 'SELECT record FROM users UNION ALL SELECT record FROM projects');
    expect(JSON.stringify(rows)).not.toContain(TOKEN);
  });

  it('server migrate imports the users and projects of a state.json, and then refuses a database that holds them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'accounts-import-'));
    try {
      const stateFile = join(dir, 'state.json');
      const json = createJsonStateStore(stateFile, emptyState());
      const seen = writeAccounts(json);
      await json.flush();
      const url = await cluster.createDatabase();
      const counts = await importJsonState({ stateFile, secretsFile: join(dir, 'secrets.json'), url, log: () => {} });
      expect(counts).toEqual({ runs: 0, instances: 0, fleets: 0, secrets: 0, users: 3, projects: 1 });
      expect(describeCounts(counts)).toBe('0 runs, 0 instances, 0 fleets, 0 secrets, 3 users, 1 projects');
      const store = await openPgStateStore(url, { log: () => {} });
      try {
        expect({ users: store.users(), projects: store.projects() }).toEqual(seen);
      } finally {
        await store.close();
      }
      await expect(importJsonState({ stateFile, secretsFile: join(dir, 'secrets.json'), url, log: () => {} })).rejects.toMatchObject({
        code: 'DATABASE_NOT_EMPTY',
        message: expect.stringContaining('already holds 0 runs, 0 instances, 0 fleets, 0 secrets, 3 users, 1 projects'),
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a user row whose record belongs to another name stops the server from starting, naming the row', async () => {
    const url = await cluster.createDatabase();
    const store = await openPgStateStore(url, { log: () => {} });
    store.putUser(user('ann', 1));
    await store.close();
    await query(url, `UPDATE users SET record = jsonb_set(record, '{name}', '"mallory"')`);
    await expect(openPgStateStore(url, { log: () => {} })).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringContaining('Row ann of table users') });
  });
});
