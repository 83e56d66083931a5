/**
 * One daemon per DSTACK_HOME: a proper-lockfile lock on `server/` for the daemon's whole life. A live holder
 * (pid in daemon.json answers) → DAEMON_RUNNING at once; a holder that died without unlocking (kill -9) leaves a
 * lock that goes stale within seconds, so then we wait that long instead of failing.
 */
import { readFileSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import lockfile from 'proper-lockfile';
import { UserError } from '../../core/errors.js';
import type { HomePaths } from '../../core/home/paths.js';
import { readDaemonInfo } from './daemon-file.js';

const STALE_MS = 5_000;
/** The holder touches the lock this often. */
const REFRESH_MS = 1_000;

export async function acquireDaemonLock(paths: HomePaths, onCompromised: (e: Error) => void): Promise<() => Promise<void>> {
  await mkdir(paths.serverDir, { recursive: true, mode: 0o700 });
  const options = { lockfilePath: paths.lockFile, realpath: false, stale: STALE_MS, update: REFRESH_MS, onCompromised };
  try {
    return await lockfile.lock(paths.serverDir, options);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
  }
  const info = await readDaemonInfo(paths.daemonFile);
  if (info && info.pid !== process.pid && pidAlive(info.pid)) throw running(paths, info.pid, info.port);
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

function pidAlive(pid: number): boolean {
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
