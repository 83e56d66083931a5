/**
 * The server lock: a session-level advisory lock held on its own connection. The leading server holds it
 * (leadership.ts) and `dstack server migrate --from-json` takes it, so an import never fills in state under a
 * running server. PostgreSQL frees it the moment that connection ends, however its holder dies, so a server killed
 * with -9 never blocks the next one. Losing the connection means losing the lock: the holder is told.
 */
import { UserError } from '../../../core/errors.js';
import { redactDatabaseUrl } from '../../../core/home/database-url.js';
import { unreachable } from './connect.js';
import { loadPg } from './pg-module.js';

/** Arbitrary, fixed: the key the leading dstack server holds (64-bit advisory lock space; leadership.ts). */
export const SERVER_LOCK_KEY = 7_151_862_013;

export async function acquireDatabaseLock(url: string, onLost: (e: Error) => void): Promise<() => Promise<void>> {
  const pg = await loadPg();
  const client = new pg.Client({ connectionString: url, application_name: 'dstack-server-lock' });
  try {
    await client.connect();
  } catch (e) {
    throw unreachable(url, e);
  }
  let released = false;
  try {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [SERVER_LOCK_KEY]);
    if (!rows[0]?.locked) {
      throw new UserError('DATABASE_IN_USE', `Another dstack server already uses the database ${redactDatabaseUrl(url)}`, {
        hint: 'Stop every dstack server on that database first.',
      });
    }
  } catch (e) {
    await client.end().catch(() => undefined);
    throw e;
  }
  const lost = (e: Error) => {
    if (!released) onLost(new Error(`the database connection holding the server lock ended (${e.message})`));
  };
  client.on('error', lost);
  client.on('end', () => lost(new Error('connection closed')));
  return async () => {
    released = true;
    await client.end().catch(() => undefined);
  };
}
