/**
 * The team server's secrets: table `secrets` (S16 schema), loaded into memory when opened, like the file store,
 * because a replica's spec is resolved synchronously. A change is answered only once it is committed, and memory
 * is updated from the row the database returns, so it follows the database and never leads it. With a fence (a
 * leader's lease, issue 17 HA), a change is written only while the lease is still this server's (fence.ts).
 */
import type { ClientBase, Pool } from 'pg';
import { InternalError, UserError } from '../../core/errors.js';
import type { SecretMeta, SecretStore } from '../../core/secrets/store.js';
import { connectPool, databaseAddress } from '../state/pg/connect.js';
import { fenceLatch, fencedWrite, isFenced, type Fence } from '../state/pg/fence.js';

interface Entry {
  value: string;
  createdAt: number;
  updatedAt: number;
}

/** bigint columns come back as strings from `pg`. */
interface Row {
  project: string;
  name: string;
  value: string;
  created_at: string;
  updated_at: string;
  created?: boolean;
}

export interface PgSecretStoreOptions {
  clock?: () => number;
  /** The leader's lease: a change is committed only while it holds; else it rejects with STATE_FENCED. */
  fence?: Fence;
  /** Told once, at the first change refused by the fence. */
  onFenced?: (e: Error) => void;
}

export interface PgSecretStore extends SecretStore {
  /** Ends the pool when the store made it from a URL; a pool passed in stays its owner's to end. */
  close(): Promise<void>;
}

const entryOf = (r: Row): Entry => ({ value: r.value, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at) });
const meta = (name: string, e: Entry): SecretMeta => ({ name, createdAt: e.createdAt, updatedAt: e.updatedAt });

// created_at is left alone on conflict, and updated_at moves only when the value does (as in the file store).
// `xmax = 0` holds for a freshly inserted row only, which tells a create from a replace in the same statement.
const UPSERT = `INSERT INTO secrets (project, name, value, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
  ON CONFLICT (project, name) DO UPDATE SET value = EXCLUDED.value,
    updated_at = CASE WHEN secrets.value = EXCLUDED.value THEN secrets.updated_at ELSE EXCLUDED.updated_at END
  RETURNING project, name, value, created_at, updated_at, (xmax = 0) AS created`;

/**
 * A database error with the statement's parameters nowhere in it: `pg` puts none in its messages, but its error
 * objects are not ours to vouch for, so they are not passed on as `cause` (values must never reach a log).
 */
function writeFailed(action: string, project: string, name: string, e: unknown): Error {
  if (isFenced(e)) return e;
  const code = (e as { code?: unknown }).code;
  // 22021: PostgreSQL text cannot hold a NUL character; the file store could, so say why.
  if (code === '22021') return new UserError('SECRET_VALUE_INVALID', `Secret ${name} of project ${project}: the value contains a NUL character, which the database cannot store`);
  const reason = e instanceof Error ? e.message : 'unknown error';
  return new InternalError('SECRET_STORE_FAILED', `Could not ${action} secret ${name} of project ${project}: ${reason}${typeof code === 'string' ? ` (${code})` : ''}`);
}

class PostgresSecretStore implements PgSecretStore {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly fenced: ReturnType<typeof fenceLatch>;

  constructor(
    private readonly pool: Pool,
    private readonly projects: Map<string, Map<string, Entry>>,
    private readonly clock: () => number,
    private readonly ownsPool: boolean,
    private readonly fence: { fence?: Fence; onFenced?: (e: Error) => void; where?: string } = {},
  ) {
    this.fenced = fenceLatch(fence.onFenced);
  }

  list(project: string): SecretMeta[] {
    return [...(this.projects.get(project) ?? new Map<string, Entry>())].map(([name, e]) => meta(name, e)).sort((a, b) => a.name.localeCompare(b.name));
  }

  values(project: string): ReadonlyMap<string, string> {
    return new Map([...(this.projects.get(project) ?? [])].map(([name, e]) => [name, e.value]));
  }

  allValues(): string[] {
    return [...this.projects.values()].flatMap((p) => [...p.values()].map((e) => e.value));
  }

  set(project: string, name: string, value: string): Promise<{ secret: SecretMeta; created: boolean }> {
    return this.serial(async () => {
      const { rows } = await this.write((c) => c.query<Row>(UPSERT, [project, name, value, this.clock()])).catch((e: unknown) => {
        throw writeFailed('save', project, name, e);
      });
      const row = rows[0];
      if (!row) throw new InternalError('SECRET_STORE_FAILED', `Saving secret ${name} of project ${project} returned no row`);
      const entry = entryOf(row);
      this.put(project, name, entry);
      return { secret: meta(name, entry), created: row.created === true };
    });
  }

  delete(project: string, name: string): Promise<SecretMeta | undefined> {
    return this.serial(async () => {
      const { rows } = await this.write((c) =>
        c.query<Row>('DELETE FROM secrets WHERE project = $1 AND name = $2 RETURNING project, name, value, created_at, updated_at', [project, name]),
      ).catch((e: unknown) => {
          throw writeFailed('delete', project, name, e);
        });
      this.projects.get(project)?.delete(name);
      const row = rows[0];
      return row ? meta(name, entryOf(row)) : undefined;
    });
  }

  async close(): Promise<void> {
    await this.queue;
    if (this.ownsPool) await this.pool.end();
  }

  /** Through the fence when there is one; after the first refusal, every change is refused without a query. */
  private async write<T>(fn: (client: ClientBase) => Promise<T>): Promise<T> {
    const refused = this.fenced.refused();
    if (refused) throw refused;
    try {
      return await fencedWrite(this.pool, this.fence.fence, this.fence.where, fn);
    } catch (e) {
      this.fenced.note(e);
      throw e;
    }
  }

  private put(project: string, name: string, entry: Entry): void {
    const secrets = this.projects.get(project) ?? new Map<string, Entry>();
    secrets.set(name, entry);
    this.projects.set(project, secrets);
  }

  /** One change at a time, so memory applies the database's answers in the order they were committed. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/**
 * Opens the store on the daemon's pool, or on a pool of its own made from `source` when it is a URL (closed by
 * `close()`). The schema must already be migrated. The second argument is the clock, or the options (clock
 * included); options may also come third, after a clock.
 */
export async function openPgSecretStore(
  source: string | Pool,
  clockOrOptions: (() => number) | PgSecretStoreOptions = Date.now,
  more: PgSecretStoreOptions = {},
): Promise<PgSecretStore> {
  const options = typeof clockOrOptions === 'function' ? { ...more, clock: clockOrOptions } : { ...more, ...clockOrOptions };
  const clock = options.clock ?? Date.now;
  const ownsPool = typeof source === 'string';
  // A dropped idle connection needs no report of its own: the next query fails and says why.
  const pool = typeof source === 'string' ? await connectPool(source, { applicationName: 'dstack-secrets', max: 2, onIdleError: () => undefined }) : source;
  try {
    const { rows } = await pool.query<Row>('SELECT project, name, value, created_at, updated_at FROM secrets');
    const projects = new Map<string, Map<string, Entry>>();
    for (const row of rows) projects.set(row.project, (projects.get(row.project) ?? new Map<string, Entry>()).set(row.name, entryOf(row)));
    const where = typeof source === 'string' ? databaseAddress(source) : undefined;
    return new PostgresSecretStore(pool, projects, clock, ownsPool, { fence: options.fence, onFenced: options.onFenced, where });
  } catch (e) {
    if (ownsPool) await pool.end().catch(() => undefined);
    const where = typeof source === 'string' ? ` from ${databaseAddress(source)}` : '';
    throw new InternalError('SECRET_STORE_FAILED', `Could not load the secrets${where}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
