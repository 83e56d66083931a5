/**
 * One server per database until several servers share one (issue 17's HA step): a session-level advisory lock
 * held on its own connection for the server's whole life. PostgreSQL frees it the moment that connection ends,
 * however the server dies, so a server killed with -9 never blocks the next one. Losing the connection means
 * losing the lock: the holder is told, as with the home's lock file.
 */
import { UserError } from '../../../core/errors.js';
import { redactDatabaseUrl } from '../../../core/home/database-url.js';
import { unreachable } from './connect.js';
import { loadPg } from './pg-module.js';

/** Arbitrary, fixed: the key every dstack server takes (64-bit advisory lock space). */
const SERVER_LOCK_KEY = 7_151_862_013;

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
        hint: 'Stop that server first, or give this one its own database (several servers on one database are not supported yet).',
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
