/**
 * Which of the servers on one database leads (issue 17, HA; design in the S17 HA contract). The leader holds the
 * server lock (a session advisory lock, server-lock.ts's key) on a connection of its own, and a lease row whose
 * epoch fences every write it makes (fence.ts). The lock ends with its session, so a leader killed with -9 is
 * replaced within one poll; a leader that hangs with its session open lets its lease expire, and a follower then
 * ends that session (pg_terminate_backend) to take the lock. Lease times are the database's `now()`: the servers'
 * clocks may disagree.
 */
import { randomBytes } from 'node:crypto';
import type { Client } from 'pg';
import { DstackError, InternalError } from '../../../core/errors.js';
import type { Log } from '../../process/log.js';
import { databaseAddress, describeDriverError, unreachable } from './connect.js';
import { CHANNEL, CLAIM, LEADER_APPLICATION, READ_LEASE, holdLease, type HeldLease, type LeaderLease, type LeaseRow } from './lease.js';
import { migrate } from './migrations.js';
import { loadPg } from './pg-module.js';
import { SERVER_LOCK_KEY } from './server-lock.js';

export type { Fence } from './fence.js';
export type { LeaderLease } from './lease.js';

export const LEASE_TTL_MS = 10_000, LEASE_RENEW_MS = 2_000, LEADER_POLL_MS = 500;

export interface LeaderInfo {
  serverId: string;
  url: string;
  epoch: number;
  /** ms since the epoch, by the database's clock. */
  expiresAt: number;
  /** The lease's relay key: a standby sends it as X-Dstack-Relay (relay.ts). Secret: never logged. */
  relayKey: string;
}

export interface LeadershipOptions {
  /** Unique per process. */
  serverId: string;
  /** Where followers reach this server when it leads. */
  advertiseUrl: string;
  log: Log;
  ttlMs?: number;
  renewMs?: number;
  pollMs?: number;
}

export interface Leadership {
  readonly serverId: string;
  /** Leads at once when it can; else undefined (the caller becomes a follower and calls `acquire`). */
  tryAcquire(): Promise<LeaderLease | undefined>;
  /** Resolves when this server leads (polling; takes over an expired lease). Rejects with code CLOSED on close(). */
  acquire(): Promise<LeaderLease>;
  /** The leader as the lease row says (undefined: none, or its lease expired). Cached, refreshed each poll. */
  leader(): LeaderInfo | undefined;
  /** Every change of `leader()` seen by polling (and LISTEN/NOTIFY on channel `dstack_leader`, sent on takeover). */
  onLeaderChange(cb: (leader: LeaderInfo | undefined) => void): () => void;
  close(): Promise<void>;
}

const closedError = () => new InternalError('CLOSED', 'The leadership was closed before this server could lead');

export async function openLeadership(url: string, o: LeadershipOptions): Promise<Leadership> {
  const pg = await loadPg();
  const where = databaseAddress(url);
  const ttlMs = o.ttlMs ?? LEASE_TTL_MS, renewMs = o.renewMs ?? LEASE_RENEW_MS, pollMs = o.pollMs ?? LEADER_POLL_MS;
  const failed = (what: string, e: unknown) =>
    e instanceof DstackError ? e : new InternalError('LEADERSHIP_FAILED', `${what} at ${where} failed: ${describeDriverError(url, e)}`);

  let lockClient: Client | undefined; // the lock and the lease
  let watchClient: Client | undefined; // the lease row and LISTEN
  let held: HeldLease | undefined;
  let current: LeaderInfo | undefined;
  let waiting: { resolve: (l: LeaderLease) => void; reject: (e: Error) => void; promise: Promise<LeaderLease> } | undefined;
  let closed = false, pollFailing = false, running = false, again = false;
  let timer: NodeJS.Timeout | undefined;
  let loopDone: Promise<void> = Promise.resolve();
  let queue: Promise<unknown> = Promise.resolve();
  const listeners = new Set<(leader: LeaderInfo | undefined) => void>();

  /** One lock operation at a time: pg_try_advisory_lock is reentrant, so two successes would need two unlocks. */
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn);
    queue = next.catch(() => undefined);
    return next;
  };

  const connect = async (applicationName: string, onGone: (c: Client, e: Error) => void): Promise<Client> => {
    const client = new pg.Client({ connectionString: url, application_name: applicationName, keepAlive: true });
    client.on('error', (e) => onGone(client, e));
    client.on('end', () => onGone(client, new Error('connection closed')));
    try {
      await client.connect();
    } catch (e) {
      await client.end().catch(() => undefined);
      throw unreachable(url, e);
    }
    return client;
  };

  const lockConn = async (): Promise<Client> =>
    (lockClient ??= await connect(LEADER_APPLICATION, (client, e) => {
      if (lockClient !== client) return;
      lockClient = undefined;
      void client.end().catch(() => undefined);
      held?.lose(new Error(`the database connection holding the leader lock ended (${describeDriverError(url, e)})`));
    }));

  const watchConn = async (): Promise<Client> => {
    if (watchClient) return watchClient;
    const client = await connect('dstack-leader-watch', (c) => {
      if (watchClient !== c) return;
      watchClient = undefined; // reconnected on the next poll
      void c.end().catch(() => undefined);
    });
    client.on('notification', () => kick());
    await client.query(`LISTEN ${CHANNEL}`).catch(async (e: unknown) => {
      await client.end().catch(() => undefined);
      throw e;
    });
    return (watchClient = client);
  };

  const setLeader = (next: LeaderInfo | undefined): void => {
    const changed = next?.serverId !== current?.serverId || next?.epoch !== current?.epoch || next?.url !== current?.url;
    current = next;
    if (!changed) return;
    for (const cb of [...listeners]) {
      try {
        cb(next);
      } catch (e) {
        o.log(`leader change listener failed: ${(e as Error).message}`);
      }
    }
  };

  const infoOf = (row: LeaseRow | undefined): LeaderInfo | undefined =>
    row?.live ? { serverId: row.server_id, url: row.url, epoch: Number(row.epoch), expiresAt: row.expires_at.getTime(), relayKey: row.relay_key } : undefined;

  const refresh = async (): Promise<void> => {
    const { rows } = await (await watchConn()).query<LeaseRow>(READ_LEASE);
    setLeader(infoOf(rows[0]));
  };

  /** Takes the lock and the lease when the lock is free; the caller holds `serial`. */
  const attempt = async (): Promise<LeaderLease | undefined> => {
    if (closed) throw closedError();
    if (held) return held.handle;
    const client = await lockConn();
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [SERVER_LOCK_KEY]);
    if (!rows[0]?.locked) return undefined;
    let claimed: { epoch: string; expires_at: Date } | undefined;
    const relayKey = randomBytes(32).toString('hex');
    try {
      claimed = (await client.query<{ epoch: string; expires_at: Date }>(CLAIM, [o.serverId, o.advertiseUrl, ttlMs, relayKey])).rows[0];
      await client.query(`NOTIFY ${CHANNEL}`);
    } catch (e) {
      await client.query('SELECT pg_advisory_unlock($1)', [SERVER_LOCK_KEY]).catch(() => undefined);
      throw e;
    }
    const epoch = Number(claimed?.epoch);
    held = holdLease(client, { serverId: o.serverId, epoch }, relayKey, {
      url, where, ttlMs, renewMs, log: o.log, serial,
      ended: () => {
        held = undefined;
        if (lockClient === client) lockClient = undefined;
      },
    });
    o.log(`leading ${where} as ${o.serverId} (epoch ${epoch}), advertised at ${o.advertiseUrl}`);
    setLeader({ serverId: o.serverId, url: o.advertiseUrl, epoch, expiresAt: claimed?.expires_at.getTime() ?? 0, relayKey });
    const w = waiting;
    waiting = undefined;
    w?.resolve(held.handle);
    return held.handle;
  };

  /** A follower's step: the lock if it is free, else end the session of a leader whose lease expired. */
  const takeOver = async (): Promise<void> => {
    if (await attempt()) return;
    const client = await lockConn();
    const row = (await client.query<LeaseRow>(READ_LEASE)).rows[0];
    if (!row || row.live || row.holder === null || row.holder !== row.backend_pid) return;
    o.log(`leader ${row.server_id} (epoch ${row.epoch}) let its lease expire at ${row.expires_at.toISOString()}; ending its database session (pid ${row.backend_pid}) to take over`);
    await client.query('SELECT pg_terminate_backend($1)', [row.backend_pid]);
    // The session ends a moment after the signal; the next poll takes the lock if this try is too early.
    await attempt();
  };

  const tick = async (): Promise<void> => {
    try {
      await refresh();
      if (waiting && !closed) await serial(takeOver);
      if (pollFailing) o.log(`leader poll of ${where} works again`);
      pollFailing = false;
    } catch (e) {
      if (closed) return;
      if (!pollFailing) o.log(`leader poll of ${where} failed (retrying every ${pollMs} ms): ${failed('polling the leader', e).message}`);
      pollFailing = true;
    }
  };

  /** Polls now (a NOTIFY, an acquire), or right after the poll in progress; then every pollMs. */
  const kick = (): void => {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    clearTimeout(timer);
    running = true;
    loopDone = (async () => {
      do {
        again = false;
        await tick();
      } while (again && !closed);
      running = false;
      if (!closed) (timer = setTimeout(kick, pollMs)).unref();
    })();
  };

  try {
    await migrate(await lockConn(), o.log);
    await refresh();
  } catch (e) {
    await Promise.all([lockClient?.end(), watchClient?.end()].map((p) => p?.catch(() => undefined)));
    throw failed('Opening the leadership', e);
  }
  (timer = setTimeout(kick, pollMs)).unref();

  return {
    serverId: o.serverId,
    async tryAcquire() {
      try {
        const lease = await serial(attempt);
        if (!lease) await refresh();
        return lease;
      } catch (e) {
        throw failed('Taking the leadership', e);
      }
    },
    acquire() {
      if (closed) return Promise.reject(closedError());
      if (held) return Promise.resolve(held.handle);
      if (!waiting) {
        let resolve: (l: LeaderLease) => void = () => undefined, reject: (e: Error) => void = () => undefined;
        const promise = new Promise<LeaderLease>((res, rej) => ((resolve = res), (reject = rej)));
        // A caller gone by the time close() rejects it must not crash the process with an unhandled rejection.
        promise.catch(() => undefined);
        waiting = { resolve, reject, promise };
      }
      kick();
      return waiting.promise;
    },
    leader: () => current,
    onLeaderChange(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      const w = waiting;
      waiting = undefined;
      w?.reject(closedError());
      // An attempt in flight finishes first (it may just have taken the lease, released next); later ones see `closed`.
      await serial(() => Promise.resolve());
      await held?.handle.release();
      await serial(async () => {
        const clients = [lockClient, watchClient];
        lockClient = watchClient = undefined;
        await Promise.all(clients.map((c) => c?.end().catch(() => undefined)));
      });
      await loopDone;
      listeners.clear();
    },
  };
}
