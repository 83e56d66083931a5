/** `server/daemon.json`: where the running daemon listens (read by the CLI), written atomically 0600. */
import { readFile, rm } from 'node:fs/promises';
import { z } from 'zod';
import { writeFileAtomic } from '../../core/home/config-file.js';

export const DaemonInfo = z.object({
  pid: z.number().int(),
  port: z.number().int(),
  host: z.string(),
  startedAt: z.number(),
  version: z.string(),
});
export type DaemonInfo = z.infer<typeof DaemonInfo>;

export async function writeDaemonInfo(file: string, info: DaemonInfo): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(info)}\n`);
}

export async function readDaemonInfo(file: string): Promise<DaemonInfo | undefined> {
  try {
    const parsed = DaemonInfo.safeParse(JSON.parse(await readFile(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Removes daemon.json only if it is still ours (a newer daemon may have replaced it). */
export async function removeDaemonInfo(file: string, pid: number): Promise<void> {
  const info = await readDaemonInfo(file);
  if (info?.pid === pid) await rm(file, { force: true });
}
