/**
 * The files under DSTACK_HOME that another server needs to take over (issue 17, HA: per-host agent tokens,
 * known_hosts, cloud project keys, code archives), mirrored into table `server_files` as the leader writes them.
 * A server that takes over restores them into its own home before its backends start. Paths are checked both
 * ways: a row can never make restore write outside the home.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DstackError, InternalError } from '../../../core/errors.js';
import type { FileMirror } from '../../../core/state/file-mirror.js';
import type { Log } from '../../process/log.js';
import { connectPool, databaseAddress, describeDriverError } from './connect.js';
import { fenceLatch, fencedWrite, type Fence } from './fence.js';
import { migrate } from './migrations.js';

export interface PgServerFiles extends FileMirror {
  /** Writes every stored file under `dir` (mode as stored, folders 0700); returns how many it wrote. Files already equal are left. */
  restore(dir: string): Promise<number>;
  get(rel: string): Promise<Buffer | undefined>;
  close(): Promise<void>;
}

export interface PgServerFilesOptions {
  /** The leader's lease: put and remove commit only while it holds, else reject with STATE_FENCED. */
  fence?: Fence;
  /** Told once, at the first change refused by the fence. */
  onFenced?: (e: Error) => void;
  /** Where the schema migration reports what it applied (the table may be the first thing a server touches). */
  log?: Log;
}

const DEFAULT_MODE = 0o600;

/** A '/'-separated path relative to the home, each part a plain name: never absolute, never `..`, `.` or empty. */
export function checkRelPath(rel: string): string {
  const parts = rel.split('/');
  const bad = rel === '' || rel.includes('\\') || rel.includes('\0') || /^[A-Za-z]:/.test(rel) || parts.some((p) => p === '' || p === '.' || p === '..');
  if (bad) throw new InternalError('SERVER_FILE_PATH_INVALID', `Server file path ${JSON.stringify(rel)} is not a plain path relative to DSTACK_HOME`);
  return rel;
}

/** Only the permission bits travel: a row cannot make a setuid file. */
const permissions = (mode: number | undefined): number => (mode ?? DEFAULT_MODE) & 0o777;

async function sameFile(path: string, content: Buffer, mode: number): Promise<boolean> {
  try {
    const s = await stat(path);
    if (!s.isFile() || (s.mode & 0o777) !== mode || s.size !== content.length) return false;
    return (await readFile(path)).equals(content);
  } catch {
    return false;
  }
}

/** Temp file then rename: a server killed mid-restore never leaves a half-written token or key behind. */
async function writeAtomic(path: string, content: Buffer, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, content, { mode });
    await chmod(temp, mode); // writeFile's mode is masked by the umask
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
}

export async function openPgServerFiles(url: string, o: PgServerFilesOptions = {}): Promise<PgServerFiles> {
  const where = databaseAddress(url);
  const pool = await connectPool(url, { applicationName: 'dstack-files', max: 2, onIdleError: () => undefined });
  try {
    const client = await pool.connect();
    try {
      await migrate(client, o.log ?? (() => {}));
    } finally {
      client.release();
    }
  } catch (e) {
    await pool.end().catch(() => undefined);
    if (e instanceof DstackError) throw e;
    throw new InternalError('SERVER_FILES_FAILED', `Preparing the server files table at ${where} failed: ${describeDriverError(url, e)}`);
  }
  const fenced = fenceLatch(o.onFenced);
  const failed = (action: string, rel: string, e: unknown): Error =>
    e instanceof DstackError ? e : new InternalError('SERVER_FILES_FAILED', `Could not ${action} server file ${rel} at ${where}: ${describeDriverError(url, e)}`);
  const write = async (action: string, rel: string, sql: string, values: unknown[]): Promise<void> => {
    checkRelPath(rel);
    const refused = fenced.refused();
    if (refused) throw refused;
    try {
      await fencedWrite(pool, o.fence, where, (c) => c.query(sql, values));
    } catch (e) {
      fenced.note(e);
      throw failed(action, rel, e);
    }
  };
  const read = async <R extends object>(action: string, rel: string, sql: string, values: unknown[] = []): Promise<R[]> => {
    try {
      return (await pool.query<R>(sql, values)).rows;
    } catch (e) {
      throw failed(action, rel, e);
    }
  };

  return {
    put: (rel, content, mode) =>
      write('save', rel, `INSERT INTO server_files (path, content, mode) VALUES ($1, $2, $3)
        ON CONFLICT (path) DO UPDATE SET content = EXCLUDED.content, mode = EXCLUDED.mode, updated_at = now()`, [
        rel,
        typeof content === 'string' ? Buffer.from(content) : content,
        permissions(mode),
      ]),
    remove: (rel) => write('remove', rel, 'DELETE FROM server_files WHERE path = $1', [rel]),
    async get(rel) {
      checkRelPath(rel);
      const rows = await read<{ content: Buffer }>('read', rel, 'SELECT content FROM server_files WHERE path = $1', [rel]);
      return rows[0]?.content;
    },
    async restore(dir) {
      const rows = await read<{ path: string; content: Buffer; mode: number }>('read', '(all)', 'SELECT path, content, mode FROM server_files ORDER BY path');
      // Every path is checked before anything is written: one bad row refuses the whole restore.
      for (const row of rows) checkRelPath(row.path);
      let written = 0;
      for (const row of rows) {
        const target = join(dir, ...row.path.split('/'));
        const mode = permissions(row.mode);
        if (await sameFile(target, row.content, mode)) continue;
        await writeAtomic(target, row.content, mode);
        written += 1;
      }
      return written;
    },
    close: () => pool.end(),
  };
}
