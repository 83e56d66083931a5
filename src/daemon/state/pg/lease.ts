/**
 * The leader's side of leadership.ts: the lease row it claims, renews and expires on its lock connection, and
 * what the followers read of it. Split out so each half reads on its own.
 */
import type { Client } from 'pg';
import type { Log } from '../../process/log.js';
import { describeDriverError } from './connect.js';
import type { Fence } from './fence.js';
import { SERVER_LOCK_KEY } from './server-lock.js';

export interface LeaderLease {
  fence: Fence;
  /** Proves a standby's relayed requests (X-Dstack-Relay); new for every lease, never logged. */
  relayKey: string;
  /** Resolves (never rejects) with why, if the lease is lost: renewal failed or its connection ended. */
  lost: Promise<Error>;
  /** Gives the lock and the lease up (lease row expires_at set to now(), so a follower takes over at once). */
  release(): Promise<void>;
}

export const CHANNEL = 'dstack_leader';
const TTL = `$3::int * interval '1 millisecond'`;
// Written unconditionally: whoever runs it holds the lock. The epoch goes up by one on every new leader.
export const CLAIM = `INSERT INTO server_leader AS l (id, server_id, url, epoch, backend_pid, expires_at, acquired_at, relay_key)
  VALUES (1, $1, $2, 1, pg_backend_pid(), now() + ${TTL}, now(), $4)
  ON CONFLICT (id) DO UPDATE SET server_id = EXCLUDED.server_id, url = EXCLUDED.url, epoch = l.epoch + 1,
    backend_pid = EXCLUDED.backend_pid, expires_at = EXCLUDED.expires_at, acquired_at = EXCLUDED.acquired_at,
    relay_key = EXCLUDED.relay_key
  RETURNING epoch, expires_at`;
const RENEW = `UPDATE server_leader SET expires_at = now() + ${TTL} WHERE id = 1 AND server_id = $1 AND epoch = $2`;
const EXPIRE = 'UPDATE server_leader SET expires_at = now() WHERE id = 1 AND server_id = $1 AND epoch = $2';
export const LEADER_APPLICATION = 'dstack-leader';
// `holder`: the leader session that holds the server lock in this database (a bigint key shows as classid = high
// 32 bits, objid = low 32 bits, objsubid = 1). A lease row's pid is ended only when it is that session: a pid can be
// reused by an unrelated connection, and the importer (server-lock.ts) holds the lock without a lease.
export const READ_LEASE = `SELECT server_id, url, epoch, backend_pid, expires_at, expires_at > now() AS live, relay_key,
  (SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND a.application_name = '${LEADER_APPLICATION}'
    AND l.classid = ${Math.floor(SERVER_LOCK_KEY / 2 ** 32)} AND l.objid = ${SERVER_LOCK_KEY % 2 ** 32}
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1) AS holder
  FROM server_leader WHERE id = 1`;

export interface LeaseRow {
  server_id: string;
  url: string;
  /** bigint: a string from `pg`. */
  epoch: string;
  backend_pid: number;
  expires_at: Date;
  live: boolean;
  holder: number | null;
  relay_key: string;
}

export interface HeldLease {
  handle: LeaderLease;
  lose(why: Error): void;
}

export interface HoldOptions {
  url: string;
  where: string;
  ttlMs: number;
  renewMs: number;
  log: Log;
  /** The owner's queue of lock operations: a release never runs beside a lock attempt. */
  serial: <T>(fn: () => Promise<T>) => Promise<T>;
  /** The lease ended (lost or released); called once, before its connection is ended. */
  ended: () => void;
}

/** Renews the lease claimed on `client` (which holds the lock) until it is lost or released. */
export function holdLease(client: Client, fence: Fence, relayKey: string, o: HoldOptions): HeldLease {
  let resolveLost: (e: Error) => void = () => undefined;
  const lost = new Promise<Error>((resolve) => (resolveLost = resolve));
  let active = true, renewing = false, renewedAt = Date.now();
  const interval = setInterval(() => void renew(), o.renewMs);
  interval.unref();
  const stop = (): boolean => {
    if (!active) return false;
    active = false;
    clearInterval(interval);
    o.ended();
    return true;
  };
  const lose = (why: Error): void => {
    if (!stop()) return;
    // Ending the session frees the lock at once if it is still held.
    void client.end().catch(() => undefined);
    o.log(`lost the leadership of ${o.where} (epoch ${fence.epoch}): ${why.message}`);
    resolveLost(why);
  };
  const renew = async (): Promise<void> => {
    if (renewing) {
      // A renewal hung past the TTL: a follower may already have taken over, so stop acting as leader.
      if (Date.now() - renewedAt > o.ttlMs) lose(new Error(`renewing the lease took longer than its ${o.ttlMs} ms TTL`));
      return;
    }
    renewing = true;
    try {
      const { rowCount } = await client.query(RENEW, [fence.serverId, fence.epoch, o.ttlMs]);
      if (rowCount) renewedAt = Date.now();
      else lose(new Error('the lease row names another server or epoch: it was taken over'));
    } catch (e) {
      lose(new Error(`renewing the lease failed: ${describeDriverError(o.url, e)}`));
    } finally {
      renewing = false;
    }
  };
  const release = () =>
    o.serial(async () => {
      if (!stop()) return;
      try {
        // One transaction: the unlock (a session lock, so it takes effect at once) comes before anyone sees the
        // expired row, which a follower would otherwise read as a hung leader whose session it must end.
        await client.query('BEGIN');
        await client.query(EXPIRE, [fence.serverId, fence.epoch]);
        await client.query('SELECT pg_advisory_unlock($1)', [SERVER_LOCK_KEY]);
        await client.query(`NOTIFY ${CHANNEL}`);
        await client.query('COMMIT');
        o.log(`released the leadership of ${o.where} (epoch ${fence.epoch})`);
      } catch (e) {
        o.log(`releasing the leadership of ${o.where} failed (${describeDriverError(o.url, e)}); ending its session frees it`);
      } finally {
        await client.end().catch(() => undefined);
      }
    });
  return { handle: { fence, relayKey, lost, release }, lose };
}
