/**
 * Files under DSTACK_HOME that another server needs to take over from this one (issue 17, HA): per-host agent
 * tokens, known_hosts, cloud project keys, uploaded code archives. With PostgreSQL state the leader copies each
 * one into the database as it writes it (daemon/state/pg/server-files.ts); with JSON state no other server can
 * take over, so there is nothing to mirror.
 */

/** rel: the path relative to DSTACK_HOME, '/'-separated (no `..`, not absolute). mode: the file's (default 0600). */
export interface FileMirror {
  put(rel: string, content: Buffer | string, mode?: number): Promise<void>;
  remove(rel: string): Promise<void>;
}

export const NO_FILE_MIRROR: FileMirror = Object.freeze({
  put: () => Promise.resolve(),
  remove: () => Promise.resolve(),
});
