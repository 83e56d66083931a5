/**
 * Rows ⇄ records for the PostgreSQL state. Every row is validated with its zod schema when loaded, as the JSON
 * store validates its file; a batch of writes is a handful of set-based statements (one upsert and one delete per
 * table) in one transaction, however many records it carries.
 */
import type { ClientBase } from 'pg';
import type { z } from 'zod';
import { UserError } from '../../../core/errors.js';
import { FleetRecord, InstanceRecord, ProjectRecord, RunRecord, UserRecord } from '../../../core/state/schema.js';
import { Table, fleetKey, keyOf, splitFleetKey, type TableName, type Tables } from './tables.js';

interface Row {
  key: string;
  record: unknown;
}

const LOADS: Record<TableName, string> = {
  runs: 'SELECT id AS key, record FROM runs',
  instances: 'SELECT name AS key, record FROM instances',
  fleets: 'SELECT project, name, record FROM fleets',
  users: 'SELECT name AS key, record FROM users',
  projects: 'SELECT name AS key, record FROM projects',
};

/** Fleet rows are keyed as in memory (fleetKey), the others by their one key column. */
const rowKey = (table: TableName, row: { key?: string; project?: string; name?: string }): string =>
  table === 'fleets' ? fleetKey(row.project ?? '', row.name ?? '') : (row.key ?? '');

/** The table has no insertion order, so records load in the order they were created (then by key), as they were written. */
const createdAt = {
  runs: (r: RunRecord) => r.submittedAt,
  instances: (i: InstanceRecord) => i.createdAt,
  fleets: (f: FleetRecord) => f.createdAt,
  users: (u: UserRecord) => u.createdAt,
  projects: (p: ProjectRecord) => p.createdAt,
};

function parseRows<S extends z.ZodTypeAny>(table: TableName, schema: S, rows: Row[], key: (r: z.output<S>) => string, where: string): Map<string, z.output<S>> {
  const records = new Map<string, z.output<S>>();
  for (const row of rows) {
    const parsed = schema.safeParse(row.record);
    const problem = parsed.success
      ? key(parsed.data) === row.key
        ? undefined
        : `its record belongs to key ${key(parsed.data)}`
      : parsed.error.issues.slice(0, 1).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)[0] ?? 'invalid';
    if (problem !== undefined) {
      throw new UserError('STATE_CORRUPT', `Row ${row.key} of table ${table} in ${where} is invalid: ${problem}`, {
        hint: `Fix or delete that row (DELETE FROM ${table} …); this dstack will not start on state it cannot read.`,
      });
    }
    records.set(row.key, parsed.data as z.output<S>);
  }
  return records;
}

function ordered<R>(records: Map<string, R>, time: (r: R) => number): Table<R> {
  const entries = [...records].sort(([ka, a], [kb, b]) => time(a) - time(b) || (ka < kb ? -1 : ka > kb ? 1 : 0));
  return new Table(new Map(entries));
}

/** Reads every record in one consistent snapshot. `where` (host:port/db) names the database in errors. */
export async function loadTables(client: ClientBase, where: string): Promise<Tables> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const rows = async (table: TableName): Promise<Row[]> =>
      (await client.query<Row & { project?: string; name?: string }>(LOADS[table])).rows.map((r) => ({ key: rowKey(table, r), record: r.record }));
    const runs = parseRows('runs', RunRecord, await rows('runs'), keyOf.runs, where);
    const instances = parseRows('instances', InstanceRecord, await rows('instances'), keyOf.instances, where);
    const fleets = parseRows('fleets', FleetRecord, await rows('fleets'), keyOf.fleets, where);
    const users = parseRows('users', UserRecord, await rows('users'), keyOf.users, where);
    const projects = parseRows('projects', ProjectRecord, await rows('projects'), keyOf.projects, where);
    await client.query('COMMIT');
    return {
      runs: ordered(runs, createdAt.runs),
      instances: ordered(instances, createdAt.instances),
      fleets: ordered(fleets, createdAt.fleets),
      users: ordered(users, createdAt.users),
      projects: ordered(projects, createdAt.projects),
    };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

export type DirtyKeys = Record<TableName, Set<string>>;

export const noDirtyKeys = (): DirtyKeys => ({ runs: new Set(), instances: new Set(), fleets: new Set(), users: new Set(), projects: new Set() });
export const dirtyCount = (d: DirtyKeys): number => d.runs.size + d.instances.size + d.fleets.size + d.users.size + d.projects.size;

// `version` counts the writes of a row (compare-and-set for several servers later); jsonb_to_recordset turns the
// batch into rows so each table takes one statement.
const UPSERTS: Record<TableName, string> = {
  runs: `INSERT INTO runs (id, project, name, record, version)
    SELECT x.id, x.project, x.name, x.record, 1 FROM jsonb_to_recordset($1::jsonb) AS x(id text, project text, name text, record jsonb)
    ON CONFLICT (id) DO UPDATE SET project = EXCLUDED.project, name = EXCLUDED.name, record = EXCLUDED.record,
      version = runs.version + 1, updated_at = now()`,
  instances: `INSERT INTO instances (name, record, version)
    SELECT x.name, x.record, 1 FROM jsonb_to_recordset($1::jsonb) AS x(name text, record jsonb)
    ON CONFLICT (name) DO UPDATE SET record = EXCLUDED.record, version = instances.version + 1, updated_at = now()`,
  fleets: `INSERT INTO fleets (project, name, record, version)
    SELECT x.project, x.name, x.record, 1 FROM jsonb_to_recordset($1::jsonb) AS x(project text, name text, record jsonb)
    ON CONFLICT (project, name) DO UPDATE SET record = EXCLUDED.record, version = fleets.version + 1, updated_at = now()`,
  users: `INSERT INTO users (name, record, version)
    SELECT x.name, x.record, 1 FROM jsonb_to_recordset($1::jsonb) AS x(name text, record jsonb)
    ON CONFLICT (name) DO UPDATE SET record = EXCLUDED.record, version = users.version + 1, updated_at = now()`,
  projects: `INSERT INTO projects (name, record, version)
    SELECT x.name, x.record, 1 FROM jsonb_to_recordset($1::jsonb) AS x(name text, record jsonb)
    ON CONFLICT (name) DO UPDATE SET record = EXCLUDED.record, version = projects.version + 1, updated_at = now()`,
};

const DELETES: Record<TableName, string> = {
  runs: 'DELETE FROM runs WHERE id = ANY($1::text[])',
  instances: 'DELETE FROM instances WHERE name = ANY($1::text[])',
  fleets: `DELETE FROM fleets f USING jsonb_to_recordset($1::jsonb) AS x(project text, name text)
    WHERE f.project = x.project AND f.name = x.name`,
  users: 'DELETE FROM users WHERE name = ANY($1::text[])',
  projects: 'DELETE FROM projects WHERE name = ANY($1::text[])',
};

const upsertRow = {
  runs: (r: RunRecord) => ({ id: r.id, project: r.project, name: r.name, record: r }),
  instances: (i: InstanceRecord) => ({ name: i.name, record: i }),
  fleets: (f: FleetRecord) => ({ project: f.project, name: f.name, record: f }),
  users: (u: UserRecord) => ({ name: u.name, record: u }),
  projects: (p: ProjectRecord) => ({ name: p.name, record: p }),
};

/**
 * JSON text for a jsonb parameter. jsonb cannot hold U+0000 (a replica's output may carry one into an error
 * message): it becomes U+FFFD, or the whole batch, and every change in it, would fail on each retry.
 */
export function jsonbText(value: unknown): string {
  return JSON.stringify(value).replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd');
}

/** The statements that bring the database to the current records of the dirty keys (present: upsert; gone: delete). */
export function batchStatements(t: Tables, dirty: DirtyKeys): Array<{ text: string; values: unknown[] }> {
  const statements: Array<{ text: string; values: unknown[] }> = [];
  const add = <R>(table: TableName, rows: Table<R>, toRow: (r: R) => object, removed: (keys: string[]) => unknown) => {
    const keys = [...dirty[table]];
    const present = keys.flatMap((k) => {
      const r = rows.get(k);
      return r === undefined ? [] : [toRow(r)];
    });
    const gone = keys.filter((k) => rows.get(k) === undefined);
    if (present.length > 0) statements.push({ text: UPSERTS[table], values: [jsonbText(present)] });
    if (gone.length > 0) statements.push({ text: DELETES[table], values: [removed(gone)] });
  };
  add('runs', t.runs, upsertRow.runs, (keys) => keys);
  add('instances', t.instances, upsertRow.instances, (keys) => keys);
  add('fleets', t.fleets, upsertRow.fleets, (keys) => JSON.stringify(keys.map(splitFleetKey).map(([project, name]) => ({ project, name }))));
  add('users', t.users, upsertRow.users, (keys) => keys);
  add('projects', t.projects, upsertRow.projects, (keys) => keys);
  return statements;
}
