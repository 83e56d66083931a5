import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';

export interface TailOptions {
  follow: boolean;
  signal: AbortSignal;
  /** Whether the writer may still append; following stops once it is gone and the file is drained. */
  writerAlive: () => Promise<boolean>;
  sleep: (ms: number) => Promise<void>;
  pollMs?: number;
}

/** Streams a log file as raw bytes (no decoding, so invalid UTF-8 and long lines pass through), optionally following it. */
export function tailFile(path: string, options: TailOptions): Readable {
  return Readable.from(chunks(path, options), { objectMode: false });
}

async function* chunks(path: string, options: TailOptions): AsyncGenerator<Buffer> {
  const handle = await open(path, 'r');
  const buf = Buffer.alloc(64 * 1024);
  let position = 0;
  let draining = false;
  try {
    while (!options.signal.aborted) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, position);
      if (bytesRead > 0) {
        position += bytesRead;
        yield Buffer.from(buf.subarray(0, bytesRead));
        continue;
      }
      if (!options.follow || draining) return;
      // Read once more after the writer is gone: bytes written just before it exited must not be lost.
      if (!(await options.writerAlive())) draining = true;
      else await options.sleep(options.pollMs ?? 200);
    }
  } finally {
    await handle.close();
  }
}
