/** DSTACK_HOME/server/daemon.json as the daemon writes it: where it listens. Missing or unreadable → undefined. */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

export const DaemonFile = z.object({
  pid: z.number().int(),
  port: z.number().int().min(1).max(65535),
  host: z.string().default('127.0.0.1'),
});
export type DaemonFile = z.infer<typeof DaemonFile>;

export async function readDaemonFile(file: string): Promise<DaemonFile | undefined> {
  try {
    const parsed = DaemonFile.safeParse(JSON.parse(await readFile(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** `0.0.0.0` / `::` are listen addresses, not ones to connect to. */
export function originOf(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}
