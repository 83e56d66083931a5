/**
 * DSTACK_HOME/server/daemon.json: where the running daemon listens. The daemon writes it (atomically, 0600) once
 * it listens and removes it on close; CLIs read it to find the daemon, the lock reads it to name the holder.
 * One schema for both sides, so the writer cannot drift from what readers accept.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { writeFileAtomic } from './atomic-write.js';

export const DaemonInfo = z.object({
  pid: z.number().int().positive(),
  port: z.number().int().min(1).max(65535),
  /** The listen address as given (`0.0.0.0` and `::` included); `daemonUrl` turns it into one to connect to. */
  host: z.string().default('127.0.0.1'),
  /** Absent: http (older daemons). */
  scheme: z.enum(['http', 'https']).optional(),
  /** The certificate an https daemon serves: a CLI on this machine trusts exactly it (hostname or not). */
  tlsCert: z.string().optional(),
  // Diagnostics only; optional so that a file from an older daemon still says where it listens.
  startedAt: z.number().optional(),
  version: z.string().optional(),
});
export type DaemonInfo = z.infer<typeof DaemonInfo>;

export async function writeDaemonInfo(file: string, info: DaemonInfo): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(DaemonInfo.parse(info))}\n`);
}

/** Missing, unreadable or malformed → undefined: the caller then looks where the configuration says. */
export async function readDaemonInfo(file: string): Promise<DaemonInfo | undefined> {
  try {
    const parsed = DaemonInfo.safeParse(JSON.parse(await readFile(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
