/**
 * Opens the daemon's state (DESIGN.md §3): PostgreSQL when a database is configured (env DSTACK_DATABASE_URL or
 * config.yml `server.database`), else `server/state.json` + `server/secrets.json`. The reconciler, proxy and
 * control API get a StateStore and a SecretStore and never learn which. The PostgreSQL code and `pg` load only
 * when a database is configured.
 */
import type { HomePaths } from '../../core/home/paths.js';
import { databaseSetting, redactDatabaseUrl } from '../../core/home/database-url.js';
import type { SecretStore } from '../../core/secrets/store.js';
import type { StateStore } from '../../core/state/store.js';
import type { Lifetime } from '../process/lifetime.js';
import type { Log } from '../process/log.js';
import type { Fence } from './pg/fence.js';
import { openSecretFile, secretsFileIn } from '../secrets/file-store.js';
import { createJsonStateStore, loadState } from './json-store.js';

export interface OpenedState {
  store: StateStore;
  secrets: SecretStore;
  /** Where state lives, for the log and `dstack server`'s banner (a database URL without its password). */
  where: string;
}

export interface OpenStateOptions {
  paths: HomePaths;
  env: NodeJS.ProcessEnv;
  /** config.yml `server.database`. */
  configured: string | undefined;
  clock: () => number;
  log: Log;
  /** Everything opened here is closed by it, last registered first (the store flushes before its pool ends). */
  lifetime: Lifetime;
  /** The database lock was lost, or a write found the lease taken: another server may now take the same state. */
  onLockLost: (e: Error) => void;
  /**
   * The lease of the server leading a shared database (issue 17): its Leadership holds the database lock, and every
   * write checks the lease is still its own. Without it the database is this server's alone (the lock is taken here).
   */
  fence?: Fence;
}

export async function openState(options: OpenStateOptions): Promise<OpenedState> {
  const { paths, env, clock, log, lifetime } = options;
  const database = databaseSetting(env, options.configured);
  const reportWrite = (e: unknown) => log(`state write failed: ${(e as Error).message}`);
  if (!database) {
    const store = createJsonStateStore(paths.stateFile, await loadState(paths.stateFile, clock), reportWrite);
    lifetime.add(() => store.flush());
    return { store, secrets: await openSecretFile(secretsFileIn(paths.serverDir), clock), where: paths.stateFile };
  }
  const { acquireDatabaseLock } = await import('./pg/server-lock.js');
  const { openPgStateStore } = await import('./pg/pg-store.js');
  const { openPgSecretStore } = await import('../secrets/pg-store.js');
  const fence = options.fence ? { fence: options.fence, onFenced: options.onLockLost } : {};
  if (!options.fence) lifetime.add(await acquireDatabaseLock(database.url, options.onLockLost));
  const store = await openPgStateStore(database.url, { log, onError: reportWrite, ...fence });
  lifetime.add(() => store.close());
  const secrets = await openPgSecretStore(database.url, { clock, ...fence });
  lifetime.add(() => secrets.close());
  return { store, secrets, where: redactDatabaseUrl(database.url) };
}
