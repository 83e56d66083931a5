// A real PostgreSQL for integration tests (issue 17: no mocks of the database). With DSTACK_TEST_POSTGRES_URL set
// (scripts/test-postgres.sh started a cluster for the whole run) it only creates and drops databases there;
// otherwise it runs its own cluster: initdb into a temp dir, pg_ctl on a free loopback port, trust auth on
// 127.0.0.1 only, as the `postgres` OS user (PostgreSQL refuses to run as root).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface TestPostgres {
  /** The cluster's admin URL (database `postgres`). */
  url: string;
  /** A fresh, empty database on the cluster. */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

const bin = (name: string) => join(process.env.DSTACK_TEST_POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin', name);

/** Runs one statement on its own connection and returns the rows (tests inspect the database with it). */
export async function query<R extends object = Record<string, unknown>>(dbUrl: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** As root, the server binaries run as `postgres`; as another user, as that user. */
const asPostgres = (name: string, args: string[]) =>
  process.getuid?.() === 0 ? run('runuser', ['-u', 'postgres', '--', bin(name), ...args]) : run(bin(name), args);

async function startCluster(): Promise<{ url: string; stop: () => Promise<void> }> {
  if (!existsSync(bin('initdb')) || !existsSync(bin('pg_ctl'))) {
    throw new Error(`PostgreSQL server binaries are missing (${bin('initdb')}): apt-get install postgresql (or set DSTACK_TEST_POSTGRES_URL)`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'dstack-pg-'));
  const data = join(dir, 'data');
  if (process.getuid?.() === 0) await run('chown', ['postgres:postgres', dir]);
  const port = await freePort();
  try {
    await asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
    const opts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c max_connections=200`;
    await asPostgres('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', opts, 'start']);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  let stopped: Promise<void> | undefined;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () =>
      (stopped ??= (async () => {
        await asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']).catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      })()),
  };
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const shared = process.env.DSTACK_TEST_POSTGRES_URL;
  const cluster = shared ? { url: shared, stop: async () => {} } : await startCluster();
  const created: string[] = [];
  return {
    url: cluster.url,
    async createDatabase() {
      const name = `dstack_test_${process.pid}_${created.length}_${Math.random().toString(36).slice(2, 8)}`;
      await query(cluster.url, `CREATE DATABASE ${name}`);
      created.push(name);
      const u = new URL(cluster.url);
      u.pathname = `/${name}`;
      return u.toString();
    },
    async stop() {
      for (const name of created.splice(0)) await query(cluster.url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await cluster.stop();
    },
  };
}
