/**
 * Versioned migrations of the PostgreSQL state (issue 17; the schema is /work/notes/S16-PG-schema.md). They run
 * when a server starts, in one transaction under an advisory lock, so two servers starting together never both
 * migrate and a failed migration leaves the database as it was. A database migrated by a newer dstack is refused:
 * this build would misread rows whose shape it does not know.
 */
import type { ClientBase } from 'pg';
import { UserError } from '../../../core/errors.js';
import type { Log } from '../../process/log.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'runs, instances, fleets, secrets',
    sql: `
      CREATE TABLE runs (id text PRIMARY KEY, project text NOT NULL, name text NOT NULL, record jsonb NOT NULL,
        version bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
      CREATE INDEX runs_project_name ON runs (project, name);
      CREATE TABLE instances (name text PRIMARY KEY, record jsonb NOT NULL, version bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now());
      CREATE TABLE fleets (project text NOT NULL, name text NOT NULL, record jsonb NOT NULL, version bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (project, name));
      CREATE TABLE secrets (project text NOT NULL, name text NOT NULL, value text NOT NULL, created_at bigint NOT NULL,
        updated_at bigint NOT NULL, PRIMARY KEY (project, name));`,
  },
  {
    version: 2,
    name: 'users, projects',
    sql: `
      CREATE TABLE users (name text PRIMARY KEY, record jsonb NOT NULL, version bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now());
      CREATE TABLE projects (name text PRIMARY KEY, record jsonb NOT NULL, version bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now());`,
  },
  {
    version: 3,
    name: 'server leader lease, server files',
    // One lease row (id = 1): the leader's epoch fences every write (leadership.ts). server_files mirrors the files
    // under DSTACK_HOME that a server taking over needs (server-files.ts).
    sql: `
      CREATE TABLE server_leader (id int PRIMARY KEY CHECK (id = 1), server_id text NOT NULL, url text NOT NULL,
        epoch bigint NOT NULL, backend_pid int NOT NULL, expires_at timestamptz NOT NULL,
        acquired_at timestamptz NOT NULL DEFAULT now(), relay_key text NOT NULL DEFAULT '');
      CREATE TABLE server_files (path text PRIMARY KEY, content bytea NOT NULL, mode int NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now());`,
  },
];

/** The newest schema this build knows. */
export const SCHEMA_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));

/** Fixed and distinct from the server lock's key (server-lock.ts): the two are taken by different connections. */
const MIGRATION_LOCK_KEY = 7_151_862_014;

const CREATE_SCHEMA_TABLE = `CREATE TABLE IF NOT EXISTS dstack_schema (version integer PRIMARY KEY, name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now())`;

/** Brings the database to SCHEMA_VERSION; returns the versions it applied (none when it was current). */
export async function migrate(client: ClientBase, log: Log, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const known = Math.max(0, ...migrations.map((m) => m.version));
  await client.query('BEGIN');
  try {
    // Held until COMMIT/ROLLBACK: a second server waits here, then finds the schema current.
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(CREATE_SCHEMA_TABLE);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM dstack_schema');
    const applied = new Set(rows.map((r) => r.version));
    const highest = Math.max(0, ...applied);
    if (highest > known) {
      throw new UserError('STATE_SCHEMA_NEWER', `The database has schema version ${highest}, this dstack knows up to ${known}: a newer dstack migrated it.`, {
        hint: 'upgrade dstack (this version would misread the newer tables, so it changes nothing)',
      });
    }
    const done: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO dstack_schema (version, name) VALUES ($1, $2)', [m.version, m.name]);
      done.push(m.version);
    }
    await client.query('COMMIT');
    for (const v of done) log(`database schema migrated to version ${v} (${migrations.find((m) => m.version === v)?.name ?? ''})`);
    return done;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
