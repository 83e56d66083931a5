/**
 * Fencing (issue 17, HA): a leader's writes carry its lease's epoch, and each write transaction first locks the
 * lease row as this leader's. A server that lost its lease (hung past its TTL, then taken over) finds no such row
 * and writes nothing: its transaction rolls back. FOR SHARE keeps the row from changing until the transaction
 * ends, so a takeover (which updates the row) waits for a write already past the check, and never interleaves.
 */
import type { ClientBase, Pool } from 'pg';
import { DstackError, InternalError } from '../../../core/errors.js';

/** Who may write: the lease row's server and epoch. */
export interface Fence {
  serverId: string;
  epoch: number;
}

const FENCE_CHECK = 'SELECT 1 FROM server_leader WHERE id = 1 AND server_id = $1 AND epoch = $2 FOR SHARE';

export function fencedError(fence: Fence, where: string | undefined): InternalError {
  const database = where ? ` at ${where}` : '';
  return new InternalError('STATE_FENCED', `This server (${fence.serverId}) no longer leads the database${database}: its lease (epoch ${fence.epoch}) was taken over, so it writes nothing more`, {
    hint: 'Another server leads now; this one must stop (start it again to follow the new leader).',
  });
}

export const isFenced = (e: unknown): e is DstackError => e instanceof DstackError && e.code === 'STATE_FENCED';

/** Inside an open transaction: throws STATE_FENCED unless `fence` still holds the lease. */
export async function checkFence(client: ClientBase, fence: Fence, where: string | undefined): Promise<void> {
  const { rowCount } = await client.query(FENCE_CHECK, [fence.serverId, fence.epoch]);
  if (!rowCount) throw fencedError(fence, where);
}

/**
 * Runs `fn` on a pooled connection: in a transaction behind the fence check when there is a fence, else as is.
 * A connection that could not even roll back is dropped rather than handed to the next caller.
 */
export async function fencedWrite<T>(pool: Pool, fence: Fence | undefined, where: string | undefined, fn: (client: ClientBase) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    if (!fence) return await fn(client);
    await client.query('BEGIN');
    try {
      await checkFence(client, fence, where);
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch((r: unknown) => (broken = r instanceof Error ? r : new Error(String(r))));
      throw e;
    }
  } finally {
    client.release(broken);
  }
}

/**
 * Remembers the first STATE_FENCED: the caller is told once (the daemon exits on it), and every later write is
 * refused with the same error without reaching the database.
 */
export function fenceLatch(onFenced: ((e: Error) => void) | undefined): { refused(): DstackError | undefined; note(e: unknown): void } {
  let fenced: DstackError | undefined;
  return {
    refused: () => fenced,
    note(e) {
      if (fenced || !isFenced(e)) return;
      fenced = e;
      onFenced?.(e);
    },
  };
}
