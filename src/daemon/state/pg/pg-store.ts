/**
 * The team server's state store (DESIGN.md §3, issue 17): PostgreSQL rows loaded into memory when opened, then
 * served synchronously exactly like the JSON store, with write-behind. Each written key is marked dirty; the dirty
 * rows go to the database together in one transaction per batch, so a burst of writes costs one commit, and a key
 * written many times while a batch is in flight is written once more, with its latest record. A failed batch keeps
 * its keys dirty and is retried (a database restart loses nothing the server still holds), reported once per
 * streak of failures. With a fence (a leader's lease, issue 17 HA), each batch first checks that the lease is still
 * this server's; once it is not, nothing more is written (STATE_FENCED, `onFenced`): another server owns the state.
 */
import type { Pool } from 'pg';
import { DstackError, InternalError } from '../../../core/errors.js';
import { updateRecord, type StateStore, type StateView, type StateWriter } from '../../../core/state/store.js';
import type { Log } from '../../process/log.js';
import { connectPool, databaseAddress, describeDriverError } from './connect.js';
import { checkFence, fenceLatch, type Fence } from './fence.js';
import { migrate } from './migrations.js';
import { batchStatements, dirtyCount, loadTables, noDirtyKeys, type DirtyKeys } from './rows.js';
import { access, copyTables, type TableName, type Tables } from './tables.js';

export interface PgStateStore extends StateStore {
  /** Writes what is still dirty, then ends the pool. Rejects when the last changes could not be written. */
  close(): Promise<void>;
}

export interface PgStateOptions {
  log: Log;
  /** A batch failed (first failure of a streak only); the error's message never holds the password. */
  onError?: (e: unknown) => void;
  /** Pause before retrying a failed batch (default 1 s). */
  retryDelayMs?: number;
  /** The leader's lease: every batch is written only while it still holds (fence.ts). */
  fence?: Fence;
  /** The lease was taken over: the batch was not written and no later one will be (once). Else onError is told. */
  onFenced?: (e: Error) => void;
}

const TABLES: readonly TableName[] = ['runs', 'instances', 'fleets', 'users', 'projects'];

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Connects, migrates the schema, loads every record, and serves them. */
export async function openPgStateStore(url: string, options: PgStateOptions): Promise<PgStateStore> {
  const where = databaseAddress(url);
  const pool = await connectPool(url, {
    applicationName: 'dstack-state',
    onIdleError: (message) => options.log(`state database connection dropped: ${message}`),
  });
  let tables: Tables;
  try {
    const client = await pool.connect();
    try {
      await migrate(client, options.log);
      tables = await loadTables(client, where);
    } finally {
      client.release();
    }
  } catch (e) {
    await pool.end().catch(() => undefined);
    if (e instanceof DstackError) throw e;
    throw new InternalError('STATE_LOAD_FAILED', `Loading state from PostgreSQL at ${where} failed: ${describeDriverError(url, e)}`);
  }
  return createPgStateStore(pool, tables, url, options);
}

function createPgStateStore(pool: Pool, tables: Tables, url: string, options: PgStateOptions): PgStateStore {
  const onError = options.onError ?? (() => {});
  const retryDelayMs = options.retryDelayMs ?? 1000;
  let dirty = noDirtyKeys();
  let writing: Promise<void> | undefined;
  let failing = false;
  let closing: Promise<void> | undefined;
  let lastFailure: string | undefined;
  const fenced = fenceLatch(options.onFenced ?? onError);

  const writeBatch = async (batch: DirtyKeys): Promise<void> => {
    // Built before the first await: the batch carries the records as they are now; later writes mark keys anew.
    const statements = batchStatements(tables, batch);
    if (statements.length === 0) return;
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      if (options.fence) await checkFence(client, options.fence, databaseAddress(url));
      for (const s of statements) await client.query(s.text, s.values);
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch((r: unknown) => (broken = r instanceof Error ? r : new Error(String(r))));
      throw e;
    } finally {
      // A connection that could not even roll back is dropped rather than handed to the next batch.
      client.release(broken);
    }
  };

  const writeLoop = async (): Promise<void> => {
    while (dirtyCount(dirty) > 0 && !fenced.refused()) {
      const batch = dirty;
      dirty = noDirtyKeys();
      try {
        await writeBatch(batch);
        failing = false;
        lastFailure = undefined;
      } catch (e) {
        for (const table of TABLES) for (const key of batch[table]) dirty[table].add(key);
        fenced.note(e);
        if (fenced.refused()) break;
        lastFailure = describeDriverError(url, e);
        if (!failing) {
          failing = true;
          onError(new InternalError('STATE_WRITE_FAILED', `Writing ${dirtyCount(batch)} changed record(s) to PostgreSQL at ${databaseAddress(url)} failed: ${lastFailure}; retrying until it succeeds`));
        }
        if (closing) break;
        await sleep(retryDelayMs);
      }
    }
    writing = undefined;
  };

  const markDirty = (table: TableName, key: string): void => {
    dirty[table].add(key);
    if (fenced.refused()) return;
    // A microtask: every write made in the same synchronous stretch joins this batch.
    writing ??= Promise.resolve().then(writeLoop);
  };

  const io: StateView & StateWriter = access(tables, markDirty);


  const flush = async (): Promise<void> => {
    while (writing) await writing;
  };

  return {
    ...io,
    updateRun: (id, fn) => updateRecord(io.run(id), fn, io.putRun),
    updateInstance: (name, fn) => updateRecord(io.instance(name), fn, io.putInstance),
    updateFleet: (project, name, fn) => updateRecord(io.fleet(project, name), fn, io.putFleet),
    updateUser: (name, fn) => updateRecord(io.user(name), fn, io.putUser),
    updateProject: (name, fn) => updateRecord(io.project(name), fn, io.putProject),
    transaction(fn) {
      // The transaction works on copies of the tables, so a throw leaves memory, and the database, as they were.
      const draft = copyTables(tables);
      const touched: Array<[TableName, string]> = [];
      const result = fn(access(draft, (table, key) => touched.push([table, key])));
      if (touched.length > 0) {
        tables.runs = draft.runs;
        tables.instances = draft.instances;
        tables.fleets = draft.fleets;
        tables.users = draft.users;
        tables.projects = draft.projects;
        for (const [table, key] of touched) markDirty(table, key);
      }
      return result;
    },
    flush,
    close() {
      closing ??= (async () => {
        try {
          await flush();
          const refused = fenced.refused();
          if (refused) throw refused;
          const left = dirtyCount(dirty);
          if (left > 0) {
            throw new InternalError('STATE_WRITE_FAILED', `${left} changed record(s) could not be written to PostgreSQL at ${databaseAddress(url)}: ${lastFailure ?? 'unknown error'}`);
          }
        } finally {
          await pool.end();
        }
      })();
      return closing;
    },
  };
}
