/**
 * One daemon per DSTACK_HOME: a proper-lockfile lock on `server/` for the daemon's whole life. A live holder
 * (pid in daemon.json answers) → DAEMON_RUNNING at once; a holder that died without unlocking (kill -9) leaves a
 * lock that goes stale within seconds, so then we wait that long instead of failing.
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import lockfile from 'proper-lockfile';
import { UserError } from '../../core/errors.js';
import type { HomePaths } from '../../core/home/paths.js';
import { readDaemonInfo } from './daemon-file.js';

const STALE_MS = 5_000;

export async function acquireDaemonLock(paths: HomePaths, onCompromised: (e: Error) => void): Promise<() => Promise<void>> {
  await mkdir(paths.serverDir, { recursive: true, mode: 0o700 });
  const options = { lockfilePath: paths.lockFile, realpath: false, stale: STALE_MS, update: 1_000, onCompromised };
  try {
    return await lockfile.lock(paths.serverDir, options);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
  }
  const info = await readDaemonInfo(paths.daemonFile);
  if (info && info.pid !== process.pid && pidAlive(info.pid)) throw running(paths, info.pid, info.port);
  try {
    return await lockfile.lock(paths.serverDir, { ...options, retries: { retries: 12, minTimeout: 500, maxTimeout: 1_000, factor: 1 } });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
    const again = await readDaemonInfo(paths.daemonFile);
    throw running(paths, again?.pid, again?.port);
  }
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
