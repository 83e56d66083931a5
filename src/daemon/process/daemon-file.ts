/** `server/daemon.json` as the daemon keeps it: written once it listens, removed on close (schema in core). */
import { rm } from 'node:fs/promises';
import { readDaemonInfo } from '../../core/home/daemon-info.js';

export { DaemonInfo, readDaemonInfo, writeDaemonInfo } from '../../core/home/daemon-info.js';

/** Removes daemon.json only if it is still ours (a newer daemon may have replaced it). */
export async function removeDaemonInfo(file: string, pid: number): Promise<void> {
  const info = await readDaemonInfo(file);
  if (info?.pid === pid) await rm(file, { force: true });
}
