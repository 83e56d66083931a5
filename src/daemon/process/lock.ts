/**
 * One daemon per DSTACK_HOME: a proper-lockfile lock on `server/` for the daemon's whole life. A live holder
 * (pid in daemon.json answers) → DAEMON_RUNNING at once; a holder that died without unlocking (kill -9) leaves a
 * lock that goes stale within seconds, so then we wait that long instead of failing.
 *
 * On Linux the daemon also holds an abstract unix socket named after the home, which the kernel frees the moment
 * the process dies, however it dies: holding it proves no other daemon of this home lives or is starting, so a
 * lock left by a dead holder is taken at once (restart to serving after kill -9 waits for nothing).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { resolve } from 'node:path';
import lockfile from 'proper-lockfile';
import { UserError } from '../../core/errors.js';
import type { HomePaths } from '../../core/home/paths.js';
import { readDaemonInfo } from './daemon-file.js';

const STALE_MS = 5_000;
/** The holder touches the lock this often. */
const REFRESH_MS = 1_000;

export async function acquireDaemonLock(paths: HomePaths, onCompromised: (e: Error) => void): Promise<() => Promise<void>> {
  await mkdir(paths.serverDir, { recursive: true, mode: 0o700 });
  const socket = await holdSocketLock(paths.serverDir);
  if (socket === 'taken') {
    const info = await readDaemonInfo(paths.daemonFile);
    throw running(paths, info?.pid, info?.port);
  }
  try {
    const release = await lockHome(paths, onCompromised, socket !== undefined);
    return async () => {
      await release();
      socket?.close();
    };
  } catch (e) {
    socket?.close();
    throw e;
  }
}

async function lockHome(paths: HomePaths, onCompromised: (e: Error) => void, soleDaemon: boolean): Promise<() => Promise<void>> {
  const options = { lockfilePath: paths.lockFile, realpath: false, stale: STALE_MS, update: REFRESH_MS, onCompromised };
  try {
    return await lockfile.lock(paths.serverDir, options);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
  }
  const info = await readDaemonInfo(paths.daemonFile);
  if (info && info.pid !== process.pid && pidAlive(info.pid)) throw running(paths, info.pid, info.port);
  if (soleDaemon) {
    // No other daemon of this home lives (we hold its socket): the lock is a dead holder's.
    await rm(paths.lockFile, { recursive: true, force: true });
    return lockfile.lock(paths.serverDir, options);
  }
  // The recorded holder is dead (kill -9) and the lock is no longer refreshed: take it now rather than waiting for
  // it to go stale (5 s of a restart). A lock touched within the refresh period may be a second daemon starting at
  // this moment, which is left alone.
  if (info && info.pid !== process.pid && (await untouchedForLong(paths.lockFile))) {
    await rm(paths.lockFile, { recursive: true, force: true });
    try {
      return await lockfile.lock(paths.serverDir, options);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
    }
  }
  try {
    return await lockfile.lock(paths.serverDir, { ...options, retries: { retries: 12, minTimeout: 500, maxTimeout: 1_000, factor: 1 } });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
    const again = await readDaemonInfo(paths.daemonFile);
    throw running(paths, again?.pid, again?.port);
  }
}

/**
 * Linux only: listens on `\0dstack-daemon:<sha256 of server/>` for the daemon's life. 'taken' when another process
 * holds it; undefined where abstract sockets do not exist (the lock file alone decides there).
 */
async function holdSocketLock(serverDir: string): Promise<Server | 'taken' | undefined> {
  if (process.platform !== 'linux') return undefined;
  const name = `\0dstack-daemon:${createHash('sha256').update(resolve(serverDir)).digest('hex')}`;
  const server = createServer((c) => c.destroy());
  return new Promise((done) => {
    server.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'EADDRINUSE' ? 'taken' : undefined));
    server.listen({ path: name }, () => {
      server.unref();
      done(server);
    });
  });
}

/** Whether the lock exists and goes untouched for 1.5 refresh periods (waiting up to the stale time for that). */
async function untouchedForLong(lockFile: string): Promise<boolean> {
  const deadline = Date.now() + STALE_MS;
  while (Date.now() < deadline) {
    const untouched = await untouchedFor(lockFile);
    if (untouched === 0) return false;
    if (untouched > REFRESH_MS * 1.5) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** ms since the lock was last touched (0 when it is gone: nothing to take over). */
async function untouchedFor(lockFile: string): Promise<number> {
  const s = await stat(lockFile).catch(() => undefined);
  return s ? Date.now() - s.mtimeMs : 0;
}

function running(paths: HomePaths, pid: number | undefined, port: number | undefined): UserError {
  const who = pid !== undefined ? ` (pid ${pid}${port !== undefined ? `, port ${port}` : ''})` : '';
  return new UserError('DAEMON_RUNNING', `A dstack server is already running for ${paths.home}${who}.`, {
    hint: 'Use that server, or stop it first; one server runs per DSTACK_HOME.',
    status: 409,
  });
}

/** Whether a process with that pid lives (a zombie does not count). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A daemon killed with -9 stays a zombie until its parent reaps it, and kill(pid, 0) still succeeds on a
  // zombie: without this check a restarted daemon refused to start after `kill -9` (faults e2e test).
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}
