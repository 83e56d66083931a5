/**
 * CI's PostgreSQL-state pass (issue 17): with DSTACK_TEST_STATE=postgres, every daemon a test starts keeps its
 * state in a fresh database of the cluster scripts/test-postgres.sh started (DSTACK_TEST_POSTGRES_URL), so the
 * same suites run on PostgreSQL as on the JSON file. Without it: {} (the JSON file).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { query, startTestPostgres, type TestPostgres } from './postgres.js';

export const POSTGRES_PASS = process.env.DSTACK_TEST_STATE === 'postgres';

let cluster: Promise<TestPostgres> | undefined;

/** Env for one daemon: DSTACK_DATABASE_URL of a database created for it, or nothing on the JSON pass. */
export async function stateDatabaseEnv(): Promise<Record<string, string>> {
  if (!POSTGRES_PASS) return {};
  if (!process.env.DSTACK_TEST_POSTGRES_URL) {
    throw new Error('DSTACK_TEST_STATE=postgres needs DSTACK_TEST_POSTGRES_URL: run `scripts/test-postgres.sh up` (as root) and export what it prints');
  }
  // The script's cluster: its databases go with it when the run ends.
  cluster ??= startTestPostgres();
  return { DSTACK_DATABASE_URL: await (await cluster).createDatabase() };
}

/** What the daemon of `home` has stored: state.json, or its database's rows on the PostgreSQL pass (same shape). */
export async function readStoredState(home: string, env: NodeJS.ProcessEnv): Promise<unknown> {
  const url = env.DSTACK_DATABASE_URL;
  if (!url) return JSON.parse(await readFile(join(home, 'server', 'state.json'), 'utf8'));
  const records = async (table: string) => (await query<{ record: unknown }>(url, `SELECT record FROM ${table}`)).map((r) => r.record);
  return { version: 1, runs: await records('runs'), instances: await records('instances'), fleets: await records('fleets') };
}
