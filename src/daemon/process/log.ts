/**
 * The daemon's log: `server/logs/daemon.log` (0600), one timestamped line per event, plus an optional sink
 * (stderr for `dstack server`). Secrets never reach it: the known tokens are masked in every line.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type Log = (line: string) => void;

export interface DaemonLogger {
  log: Log;
  close(): Promise<void>;
}

export function createDaemonLogger(logsDir: string, secrets: () => string[], sink?: Log, clock: () => number = Date.now): DaemonLogger {
  mkdirSync(logsDir, { recursive: true, mode: 0o700 });
  const stream = createWriteStream(join(logsDir, 'daemon.log'), { flags: 'a', mode: 0o600 });
  stream.on('error', () => {});
  const log: Log = (line) => {
    let text = line;
    for (const s of secrets()) if (s.length >= 8) text = text.split(s).join('***');
    const stamped = `${new Date(clock()).toISOString()} ${text}`;
    stream.write(`${stamped}\n`);
    sink?.(stamped);
  };
  return { log, close: () => new Promise((resolve) => stream.end(() => resolve())) };
}
