import { readFile, readdir } from 'node:fs/promises';

/** A process identity that survives pid reuse: the pid plus its start time (clock ticks since boot). */
export interface ProcessIdentity {
  pid: number;
  startTime: string;
}

interface ProcStat {
  state: string;
  startTime: string;
}

/** Reads /proc/<pid>/stat; undefined when the pid does not exist. */
export async function readProcStat(pid: number, procRoot = '/proc'): Promise<ProcStat | undefined> {
  let text: string;
  try {
    text = await readFile(`${procRoot}/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses, so split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0] ?? '?', startTime: rest[19] ?? '' };
}

/** Alive = the pid exists, is not a zombie (no reaper may run here) and is the same process we started. */
export async function isAlive(identity: ProcessIdentity, procRoot = '/proc'): Promise<boolean> {
  const stat = await readProcStat(identity.pid, procRoot);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X' && stat.startTime === identity.startTime;
}

/**
 * Whether any live (non-zombie) process is still in the group. The leader may be gone while children it
 * started (or that ignore SIGTERM) live on; `kill(-pgid, 0)` would also count zombies nobody reaps.
 * Linux never hands out a pid that is still some group's id, so the group cannot be confused with a new one.
 */
export async function groupAlive(pgid: number, procRoot = '/proc'): Promise<boolean> {
  for (const entry of await readdir(procRoot)) {
    if (!/^\d+$/.test(entry)) continue;
    const text = await readFile(`${procRoot}/${entry}/stat`, 'utf8').catch(() => '');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    if (rest[2] === String(pgid) && rest[0] !== 'Z' && rest[0] !== 'X') return true;
  }
  return false;
}

/** Signals a whole process group; a group that is already gone is not an error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

/** Quotes a string for a POSIX shell command line. */
export const shellQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;
