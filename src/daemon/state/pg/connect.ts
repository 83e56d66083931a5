/**
 * The state store's connection pool. A database the server cannot reach is something the user fixes (wrong host,
 * database not created, password), so it is a UserError naming where it tried — host:port/db, never the URL, which
 * carries the password — with the driver's code and reason.
 */
import type { Pool } from 'pg';
import { UserError } from '../../../core/errors.js';
import { databasePassword } from '../../../core/home/database-url.js';
import { loadPg } from './pg-module.js';

/** host:port/database, what a user checks when the server cannot connect. */
export function databaseAddress(url: string): string {
  try {
    const u = new URL(url);
    const host = u.hostname || u.searchParams.get('host') || 'localhost';
    const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username) || 'postgres';
    return `${host}:${u.port || '5432'}/${database}`;
  } catch {
    return '(unparsable database URL)';
  }
}

/** A driver message with the password masked: `pg` puts none in its messages, but they are not ours to vouch for. */
export function maskPassword(url: string, text: string): string {
  const password = databasePassword(url);
  if (!password) return text;
  let raw = password;
  try {
    raw = new URL(url).password;
  } catch {
    // databasePassword parsed it, so this cannot fail; the decoded form is masked below either way.
  }
  return text.split(password).join('***').split(raw).join('***');
}

/** `pg`'s errors: DatabaseError carries a SQLSTATE `code`, socket errors a Node `code` (ECONNREFUSED…). */
export function describeDriverError(url: string, e: unknown): string {
  const code = (e as { code?: unknown } | undefined)?.code;
  const message = e instanceof Error ? e.message || e.name : String(e);
  return maskPassword(url, typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message);
}

export interface PoolOptions {
  /** Shown in pg_stat_activity, so an operator can tell dstack's connections apart. */
  applicationName: string;
  max?: number;
  /** Where a dropped idle connection is reported (otherwise it would end the process). */
  onIdleError: (message: string) => void;
}

/** A pool whose first connection has succeeded; the caller ends it. */
export async function connectPool(url: string, options: PoolOptions): Promise<Pool> {
  const pg = await loadPg();
  const pool = new pg.Pool({ connectionString: url, application_name: options.applicationName, max: options.max ?? 4, connectionTimeoutMillis: 15_000 });
  pool.on('error', (e) => options.onIdleError(describeDriverError(url, e)));
  try {
    const client = await pool.connect();
    client.release();
    return pool;
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw unreachable(url, e);
  }
}

/** A failed connect as the user sees it. Not passed on as `cause`: a driver's error object may hold the connection settings, password included. */
export function unreachable(url: string, e: unknown): UserError {
  return new UserError('DATABASE_UNREACHABLE', `Cannot connect to PostgreSQL at ${databaseAddress(url)}: ${describeDriverError(url, e)}`, {
    hint: 'Check that the server runs and accepts connections, that the database exists, and the user and password in DSTACK_DATABASE_URL (or config.yml server.database).',
  });
}
