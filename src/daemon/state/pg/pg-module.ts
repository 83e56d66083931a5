/**
 * `pg` is loaded only by a daemon that keeps state in PostgreSQL (never by the CLI's startup). Bundled, a dynamic
 * import of this CommonJS package yields `{ default }`.
 */
import type * as PgNamespace from 'pg';

export type Pg = typeof PgNamespace;

let loaded: Promise<Pg> | undefined;

export function loadPg(): Promise<Pg> {
  loaded ??= import('pg').then((mod: unknown) => ((mod as { default?: Pg }).default ?? mod) as Pg);
  return loaded;
}
