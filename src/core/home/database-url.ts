/**
 * Where the daemon keeps state (DESIGN.md §3): PostgreSQL when env DSTACK_DATABASE_URL or config.yml's
 * `server.database` names one, else the JSON file. A database URL carries a password, so everything shown to
 * users or written to logs goes through `redactDatabaseUrl`.
 */
import { UserError } from '../errors.js';

export interface DatabaseSetting {
  url: string;
  /** Where the URL came from, for error messages: the env var or the config key. */
  source: 'DSTACK_DATABASE_URL' | 'config.yml server.database' | '--database';
}

/** `--database`, then env DSTACK_DATABASE_URL, then config.yml `server.database`; undefined: the JSON file. */
export function databaseSetting(env: NodeJS.ProcessEnv, configured: string | undefined, flag?: string): DatabaseSetting | undefined {
  const pick: DatabaseSetting | undefined = flag
    ? { url: flag, source: '--database' }
    : env.DSTACK_DATABASE_URL
      ? { url: env.DSTACK_DATABASE_URL, source: 'DSTACK_DATABASE_URL' }
      : configured
        ? { url: configured, source: 'config.yml server.database' }
        : undefined;
  if (pick) checkDatabaseUrl(pick);
  return pick;
}

function checkDatabaseUrl({ url, source }: DatabaseSetting): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')) {
    throw new UserError('DATABASE_URL_INVALID', `${source}: expected a PostgreSQL URL such as postgres://user:password@host:5432/dstack`, {
      hint: 'Unset it to keep state in DSTACK_HOME/server/state.json.',
    });
  }
  if (!parsed.hostname && !parsed.searchParams.get('host')) {
    throw new UserError('DATABASE_URL_INVALID', `${source}: ${redactDatabaseUrl(url)} names no host`);
  }
}

/** The URL with its password replaced by `***` (user, host, port and database stay: they are what users check). */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const key of [...u.searchParams.keys()]) if (/pass/i.test(key)) u.searchParams.set(key, '***');
    return u.toString();
  } catch {
    return '(unparsable database URL)';
  }
}

/** The password alone, so that the daemon's log masks it wherever it might appear (a driver's error message). */
export function databasePassword(url: string): string | undefined {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password.length > 0 ? password : undefined;
  } catch {
    return undefined;
  }
}
