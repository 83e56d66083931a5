/**
 * `dstack server migrate --from-json PATH` (issue 17): a local home's state.json and secrets.json copied into a
 * PostgreSQL database in one transaction, so a failure leaves the database as it was. Only an empty database is
 * accepted: merging two states could give two runs one name or one instance two owners, and nothing here could
 * tell which one is meant.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ClientBase } from 'pg';
import { DstackError, InternalError, UserError } from '../../../core/errors.js';
import { readDaemonInfo } from '../../../core/home/daemon-info.js';
import { redactDatabaseUrl } from '../../../core/home/database-url.js';
import type { State } from '../../../core/state/schema.js';
import { parseState } from '../json-store.js';
import type { Log } from '../../process/log.js';
import { readSecretsFile } from '../../secrets/file-store.js';
import { databaseAddress, describeDriverError } from './connect.js';
import { jsonbText } from './rows.js';
import { migrate } from './migrations.js';
import { loadPg } from './pg-module.js';
import { acquireDatabaseLock } from './server-lock.js';
import { pidAlive } from '../../process/lock.js';

export interface ImportCounts {
  runs: number;
  instances: number;
  fleets: number;
  secrets: number;
  /** Only when there are any (state written before users and projects existed has none). */
  users?: number;
  projects?: number;
}

export interface JsonSource {
  stateFile: string;
  secretsFile: string;
  /** A daemon that daemon.json names and that is alive: it may still change the files while they are read. */
  livePid: number | undefined;
}

export const describeCounts = (c: ImportCounts): string =>
  `${c.runs} runs, ${c.instances} instances, ${c.fleets} fleets, ${c.secrets} secrets` +
  (c.users || c.projects ? `, ${c.users ?? 0} users, ${c.projects ?? 0} projects` : '');

/** PATH is a state.json, a server folder holding one, or a DSTACK_HOME (server/state.json under it). */
export async function locateJsonState(path: string): Promise<JsonSource> {
  const isDir = existsSync(path) && statSync(path).isDirectory();
  const stateFile = !isDir ? path : existsSync(join(path, 'server', 'state.json')) ? join(path, 'server', 'state.json') : join(path, 'state.json');
  if (!existsSync(stateFile)) {
    const looked = isDir ? `${join(path, 'server', 'state.json')} or ${stateFile}` : stateFile;
    throw new UserError('STATE_FILE_NOT_FOUND', `No state file to import at ${looked}`, {
      hint: 'Name a state.json, or the dstack home folder (DSTACK_HOME, default ~/.dstack) whose server/state.json to import.',
    });
  }
  const serverDir = dirname(stateFile);
  const info = await readDaemonInfo(join(serverDir, 'daemon.json'));
  return { stateFile, secretsFile: join(serverDir, 'secrets.json'), livePid: info && pidAlive(info.pid) ? info.pid : undefined };
}

/**
 * Validated as the daemon validates it, but without json-store's loadState: that one moves a corrupt file aside
 * for the next start, and an import must leave the home it reads exactly as it was.
 */
async function readStateFile(file: string): Promise<State> {
  const parsed = parseState(await readFile(file, 'utf8'));
  if ('state' in parsed) return parsed.state;
  throw new UserError('STATE_CORRUPT', `State file ${file} is invalid: ${parsed.problem}. Nothing was imported.`);
}

interface SecretRow {
  project: string;
  name: string;
  value: string;
  createdAt: number;
  updatedAt: number;
}

async function readSecretRows(file: string): Promise<SecretRow[]> {
  const data = await readSecretsFile(file);
  const rows = Object.entries(data.projects).flatMap(([project, secrets]) => Object.entries(secrets).map(([name, e]) => ({ project, name, ...e })));
  const nul = rows.find((r) => r.value.includes('\u0000'));
  if (nul) throw new UserError('SECRET_VALUE_INVALID', `Secret ${nul.name} of project ${nul.project} contains a NUL character, which PostgreSQL cannot store. Nothing was imported.`);
  return rows;
}

/** A connection failure as the user can act on it; the URL only without its password. */
function connectFailed(url: string, e: unknown): Error {
  if (e instanceof DstackError) return e;
  return new UserError('DATABASE_UNREACHABLE', `Cannot connect to PostgreSQL at ${databaseAddress(url)}: ${describeDriverError(url, e)}`, {
    hint: 'Check the URL, that PostgreSQL runs and accepts this user, and that the database exists.',
  });
}

export interface ImportJsonOptions {
  stateFile: string;
  secretsFile: string;
  url: string;
  log: Log;
}

/** Reads both files first (nothing touches the database if either is invalid), then imports them. */
export async function importJsonState({ stateFile, secretsFile, url, log }: ImportJsonOptions): Promise<ImportCounts> {
  if (!existsSync(stateFile)) throw new UserError('STATE_FILE_NOT_FOUND', `No state file to import at ${stateFile}`);
  const state = await readStateFile(stateFile);
  const secrets = await readSecretRows(secretsFile);
  log(`read ${stateFile} and ${existsSync(secretsFile) ? secretsFile : 'no secrets file'}`);
  // The server lock: no server may run on the database while its state is filled in under it.
  const release = await acquireDatabaseLock(url, () => undefined).catch((e: unknown) => {
    throw connectFailed(url, e);
  });
  try {
    const client = new (await loadPg()).Client({ connectionString: url, application_name: 'dstack-migrate' });
    await client.connect().catch((e: unknown) => {
      throw connectFailed(url, e);
    });
    try {
      await migrate(client, log);
      return await insertAll(client, state, secrets, url, log);
    } finally {
      await client.end().catch(() => undefined);
    }
  } finally {
    await release();
  }
}

async function insertAll(client: ClientBase, state: State, secrets: SecretRow[], url: string, log: Log): Promise<ImportCounts> {
  await client.query('BEGIN');
  try {
    // Nothing else may add a row between the emptiness check and COMMIT.
    await client.query('LOCK TABLE runs, instances, fleets, secrets, users, projects IN SHARE ROW EXCLUSIVE MODE');
    const { rows } = await client.query<Required<ImportCounts>>(
      'SELECT (SELECT count(*) FROM runs)::int AS runs, (SELECT count(*) FROM instances)::int AS instances, (SELECT count(*) FROM fleets)::int AS fleets, ' +
        '(SELECT count(*) FROM secrets)::int AS secrets, (SELECT count(*) FROM users)::int AS users, (SELECT count(*) FROM projects)::int AS projects',
    );
    const held = rows[0];
    // A server that ran on the database made its admin user and projects: those count as state too.
    if (held && held.runs + held.instances + held.fleets + held.secrets + held.users + held.projects > 0) {
      throw new UserError('DATABASE_NOT_EMPTY', `The database ${redactDatabaseUrl(url)} already holds ${describeCounts(held)}. Nothing was imported.`, {
        hint: 'Import into a new, empty database (state is imported whole, never merged).',
      });
    }
    log(`importing ${describeCounts(countsOf(state, secrets))} in one transaction`);
    // Version 1: each row's first write (the store increments it on every later one).
    await client.query(`INSERT INTO runs (id, project, name, record, version) SELECT r->>'id', r->>'project', r->>'name', r, 1 FROM jsonb_array_elements($1::jsonb) AS r`, [
      jsonbText(state.runs),
    ]);
    await client.query(`INSERT INTO instances (name, record, version) SELECT r->>'name', r, 1 FROM jsonb_array_elements($1::jsonb) AS r`, [jsonbText(state.instances)]);
    await client.query(`INSERT INTO fleets (project, name, record, version) SELECT r->>'project', r->>'name', r, 1 FROM jsonb_array_elements($1::jsonb) AS r`, [
      jsonbText(state.fleets),
    ]);
    await client.query(`INSERT INTO users (name, record, version) SELECT r->>'name', r, 1 FROM jsonb_array_elements($1::jsonb) AS r`, [jsonbText(state.users)]);
    await client.query(`INSERT INTO projects (name, record, version) SELECT r->>'name', r, 1 FROM jsonb_array_elements($1::jsonb) AS r`, [jsonbText(state.projects)]);
    // Arrays, not JSON: a JSON error's context would quote the document, and with it secret values.
    await client.query('INSERT INTO secrets (project, name, value, created_at, updated_at) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])', [
      secrets.map((s) => s.project),
      secrets.map((s) => s.name),
      secrets.map((s) => s.value),
      secrets.map((s) => s.createdAt),
      secrets.map((s) => s.updatedAt),
    ]);
    await client.query('COMMIT');
    return countsOf(state, secrets);
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (e instanceof DstackError) throw e;
    // Not passed on as `cause`: the driver's error object may carry the statement's context (record text).
    throw new InternalError('IMPORT_FAILED', `Import into ${redactDatabaseUrl(url)} failed, nothing was imported: ${describeDriverError(url, e)}`);
  }
}

const countsOf = (state: State, secrets: SecretRow[]): ImportCounts => ({
  runs: state.runs.length,
  instances: state.instances.length,
  fleets: state.fleets.length,
  secrets: secrets.length,
  ...(state.users.length > 0 ? { users: state.users.length } : {}),
  ...(state.projects.length > 0 ? { projects: state.projects.length } : {}),
});
