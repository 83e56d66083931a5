/**
 * Leadership of several servers on one database (issue 17, HA) against a real PostgreSQL: the lock and the lease
 * row decide the leader, a follower takes over when the leader's session ends or its lease expires, and the old
 * leader's writes are fenced out by the epoch. No fakes: sessions are ended with pg_terminate_backend, as a dead
 * or partitioned server's would be.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InstanceRecord } from '../../../src/core/state/schema.js';
import { openPgSecretStore } from '../../../src/daemon/secrets/pg-store.js';
import { openLeadership, type LeaderInfo, type Leadership, type LeadershipOptions } from '../../../src/daemon/state/pg/leadership.js';
import { openPgStateStore } from '../../../src/daemon/state/pg/pg-store.js';
import { openPgServerFiles } from '../../../src/daemon/state/pg/server-files.js';
import { acquireDatabaseLock } from '../../../src/daemon/state/pg/server-lock.js';
import { query, startTestPostgres, type TestPostgres } from '../../helpers/postgres.js';

let cluster: TestPostgres;
beforeAll(async () => {
  cluster = await startTestPostgres();
});
afterAll(() => cluster?.stop());

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

interface Opened {
  leadership: Leadership;
  logs: string[];
  changes: Array<LeaderInfo | undefined>;
}

async function open(url: string, serverId: string, over: Partial<LeadershipOptions> = {}): Promise<Opened> {
  const logs: string[] = [];
  const changes: Array<LeaderInfo | undefined> = [];
  const leadership = await openLeadership(url, { serverId, advertiseUrl: `http://${serverId}.test:3000`, log: (l) => logs.push(l), pollMs: 50, ...over });
  leadership.onLeaderChange((l) => changes.push(l));
  cleanups.push(() => leadership.close());
  return { leadership, logs, changes };
}

const leaseRow = async (url: string) =>
  (await query<{ server_id: string; url: string; epoch: string; backend_pid: number; live: boolean }>(
    url,
    'SELECT server_id, url, epoch, backend_pid, expires_at > now() AS live FROM server_leader',
  ))[0];

const instance = (name: string): InstanceRecord => InstanceRecord.parse({ name, backend: 'ssh', status: 'idle', createdAt: 0 });

describe('Leadership on PostgreSQL', () => {
  it('the first server on an empty database leads with epoch 1 on its own session; a second one follows and sees it', async () => {
    const url = await cluster.createDatabase();
    const a = await open(url, 'a');
    const lease = await a.leadership.tryAcquire();
    expect(lease?.fence).toEqual({ serverId: 'a', epoch: 1 });
    const row = await leaseRow(url);
    expect(row).toMatchObject({ server_id: 'a', url: 'http://a.test:3000', epoch: '1', live: true });
    const sessions = await query<{ application_name: string }>(url, 'SELECT application_name FROM pg_stat_activity WHERE pid = $1', [row?.backend_pid]);
    expect(sessions).toEqual([{ application_name: 'dstack-leader' }]);

    const b = await open(url, 'b');
    expect(await b.leadership.tryAcquire()).toBeUndefined();
    expect(b.leadership.leader()).toMatchObject({ serverId: 'a', url: 'http://a.test:3000', epoch: 1 });
    // A leader asked again gets the lease it holds, not a second one.
    expect(await a.leadership.tryAcquire()).toBe(lease);
    // The importer refuses a database a server leads.
    await expect(acquireDatabaseLock(url, () => {})).rejects.toMatchObject({ code: 'DATABASE_IN_USE' });
  });

  it('each lease has a fresh random relay key that followers read from the lease row', async () => {
    const url = await cluster.createDatabase();
    const a = await open(url, 'a');
    const first = await a.leadership.tryAcquire();
    expect(first?.relayKey).toMatch(/^[0-9a-f]{64}$/);
    const b = await open(url, 'b');
    expect(await b.leadership.tryAcquire()).toBeUndefined();
    expect(b.leadership.leader()?.relayKey).toBe(first?.relayKey);
    const taken = b.leadership.acquire();
    await first?.release();
    const second = await taken;
    expect(second.relayKey).toMatch(/^[0-9a-f]{64}$/);
    expect(second.relayKey).not.toBe(first?.relayKey);
    expect((await query<{ relay_key: string }>(url, 'SELECT relay_key FROM server_leader'))[0]?.relay_key).toBe(second.relayKey);
    expect([...a.logs, ...b.logs].join('\n')).not.toContain(second.relayKey);
  });

  it('when the leader session ends (kill -9), a waiting follower leads with the next epoch and the old lease is lost', async () => {
    const url = await cluster.createDatabase();
    const a = await open(url, 'a');
    const lease = await a.leadership.tryAcquire();
    const b = await open(url, 'b');
    expect(await b.leadership.tryAcquire()).toBeUndefined();
    const taken = b.leadership.acquire();
    await query(url, 'SELECT pg_terminate_backend(backend_pid) FROM server_leader');
    expect((await taken).fence).toEqual({ serverId: 'b', epoch: 2 });
    expect((await lease?.lost)?.message).toContain('connection holding the leader lock ended');
    expect(await leaseRow(url)).toMatchObject({ server_id: 'b', url: 'http://b.test:3000', epoch: '2', live: true });
    expect(b.leadership.leader()).toMatchObject({ serverId: 'b', epoch: 2 });
    expect(b.changes.map((l) => l && `${l.serverId}@${l.epoch}`)).toContain('b@2');
    expect(b.logs.join('\n')).not.toContain('ending its database session');
  });

  it('a hung leader whose lease expired is ended and taken over; its fenced writes never reach the database', async () => {
    const url = await cluster.createDatabase();
    // No renewal: the session stays, the lease runs out, as with a leader stopped by SIGSTOP or a partition.
    const a = await open(url, 'a', { renewMs: 3_600_000 });
    const lease = await a.leadership.tryAcquire();
    if (!lease) throw new Error('a did not lead');
    const fenced: Error[] = [];
    const onFenced = (e: Error) => fenced.push(e);
    const store = await openPgStateStore(url, { log: () => {}, fence: lease.fence, onFenced });
    const secrets = await openPgSecretStore(url, { fence: lease.fence, onFenced });
    const files = await openPgServerFiles(url, { fence: lease.fence, onFenced });
    cleanups.push(() => store.close(), () => secrets.close(), () => files.close());
    store.putInstance(instance('before'));
    await store.flush();
    await secrets.set('main', 'before', 'v');
    await files.put('ssh/before', 'token');

    const b = await open(url, 'b');
    const taken = b.leadership.acquire();
    await query(url, "UPDATE server_leader SET expires_at = now() - interval '1 second'");
    expect((await taken).fence).toEqual({ serverId: 'b', epoch: 2 });
    expect((await lease.lost).message).toContain('connection holding the leader lock ended');
    expect(b.logs.join('\n')).toMatch(/leader a \(epoch 1\) let its lease expire .* ending its database session/);

    store.putInstance(instance('after'));
    await store.flush();
    store.putInstance(instance('later'));
    await store.flush();
    await expect(secrets.set('main', 'after', 'v')).rejects.toMatchObject({ code: 'STATE_FENCED' });
    await expect(files.put('ssh/after', 'token')).rejects.toMatchObject({ code: 'STATE_FENCED' });
    await expect(files.remove('ssh/before')).rejects.toMatchObject({ code: 'STATE_FENCED' });
    expect(fenced.map((e) => (e as { code?: string }).code)).toEqual(['STATE_FENCED', 'STATE_FENCED', 'STATE_FENCED']);
    expect(fenced[0]?.message).toMatch(/no longer leads .*\(epoch 1\) was taken over/);
    await expect(store.close()).rejects.toMatchObject({ code: 'STATE_FENCED' });
    expect(await query(url, 'SELECT name FROM instances ORDER BY name')).toEqual([{ name: 'before' }]);
    expect(await query(url, 'SELECT name FROM secrets ORDER BY name')).toEqual([{ name: 'before' }]);
    expect(await query(url, 'SELECT path FROM server_files ORDER BY path')).toEqual([{ path: 'ssh/before' }]);
    // The new leader's writes go through.
    const next = await openPgStateStore(url, { log: () => {}, fence: { serverId: 'b', epoch: 2 } });
    next.putInstance(instance('by-b'));
    await next.close();
    expect(await query(url, 'SELECT name FROM instances ORDER BY name')).toEqual([{ name: 'before' }, { name: 'by-b' }]);
  });

  it('release hands over at once: the follower is told by NOTIFY, not by its next poll', async () => {
    const url = await cluster.createDatabase();
    const a = await open(url, 'a');
    const lease = await a.leadership.tryAcquire();
    // A poll far beyond the test's timeout: only the notification can wake the follower in time.
    const b = await open(url, 'b', { pollMs: 600_000 });
    const taken = b.leadership.acquire();
    expect(await b.leadership.tryAcquire()).toBeUndefined();
    await lease?.release();
    expect((await taken).fence).toEqual({ serverId: 'b', epoch: 2 });
    expect(a.logs.join('\n')).toContain('released the leadership');
    expect(b.logs.join('\n')).not.toContain('ending its database session');
  });

  it('a leader that closes releases its lease; a follower that closes rejects its pending acquire with CLOSED', async () => {
    const url = await cluster.createDatabase();
    const a = await open(url, 'a');
    await a.leadership.tryAcquire();
    const b = await open(url, 'b');
    const pending = expect(b.leadership.acquire()).rejects.toMatchObject({ code: 'CLOSED' });
    await b.leadership.close();
    await pending;
    await expect(b.leadership.acquire()).rejects.toMatchObject({ code: 'CLOSED' });
    expect(await leaseRow(url)).toMatchObject({ server_id: 'a', epoch: '1', live: true });

    const c = await open(url, 'c');
    const taken = c.leadership.acquire();
    await a.leadership.close();
    expect((await taken).fence).toEqual({ serverId: 'c', epoch: 2 });
  });

  it('a follower whose poll connection drops reconnects and still takes over; the lease turning stale is reported as no leader', async () => {
    const url = await cluster.createDatabase();
    const a = await open(url, 'a', { renewMs: 3_600_000 });
    const lease = await a.leadership.tryAcquire();
    const b = await open(url, 'b');
    expect(b.leadership.leader()).toMatchObject({ serverId: 'a' });
    await query(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dstack-leader-watch' AND datname = current_database()");
    await query(url, "UPDATE server_leader SET expires_at = now() - interval '1 second'");
    // b is not acquiring, so it only sees the lease go stale (after reconnecting its poll).
    while (b.leadership.leader() !== undefined) await new Promise((r) => setTimeout(r, 20));
    expect(b.changes.at(-1)).toBeUndefined();
    const taken = await b.leadership.acquire();
    expect(taken.fence.epoch).toBe(2);
    await lease?.lost;
  });

  it('never ends the session of the importer, which holds the lock without a lease', async () => {
    const url = await cluster.createDatabase();
    const a = await open(url, 'a');
    await (await a.leadership.tryAcquire())?.release();
    expect(await leaseRow(url)).toMatchObject({ server_id: 'a', live: false });
    const lost: Error[] = [];
    const releaseImport = await acquireDatabaseLock(url, (e) => lost.push(e));
    // Even when the lease's pid has been reused by the importer's session (pids are recycled).
    await query(url, "UPDATE server_leader SET backend_pid = (SELECT pid FROM pg_stat_activity WHERE application_name = 'dstack-server-lock' AND datname = current_database())");
    const b = await open(url, 'b');
    const taken = b.leadership.acquire();
    // Many polls see an expired lease and a held lock, but the holder is not the lease's session.
    await new Promise((r) => setTimeout(r, 1000));
    expect(lost).toEqual([]);
    await releaseImport();
    expect((await taken).fence.epoch).toBe(2);
  });

  it('an unreachable database is a user error naming host, port and database, never the password', async () => {
    const password = 'pw-never-shown-5e1d';
    const closedPort = new URL(cluster.url);
    closedPort.port = '1';
    closedPort.password = password;
    closedPort.pathname = '/dstack';
    const e = (await openLeadership(closedPort.toString(), { serverId: 'a', advertiseUrl: 'http://a', log: () => {} }).catch((x: unknown) => x)) as Error & { hint?: string };
    expect(e).toMatchObject({ code: 'DATABASE_UNREACHABLE', message: expect.stringMatching(/127\.0\.0\.1:1\/dstack: .*ECONNREFUSED/) });
    expect(`${e.message} ${e.hint ?? ''} ${String(e.cause ?? '')}`).not.toContain(password);
    const files = (await openPgServerFiles(closedPort.toString()).catch((x: unknown) => x)) as Error;
    expect(files).toMatchObject({ code: 'DATABASE_UNREACHABLE' });
    expect(files.message).not.toContain(password);
  });
});
