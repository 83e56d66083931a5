/**
 * Progress of long operations (DESIGN.md §7): a spinner region in a terminal, plain lines otherwise.
 * Always on stderr, so stdout stays clean for results and `--json`. Ink is imported only for the TTY case.
 */
import { colorEnabled, type Tone } from './colors.js';
import { createPlainProgress } from './plain-progress.js';

export interface ProgressReporter {
  /** Shows or updates a live task (a spinner line in a TTY; a plain line whenever its text changes otherwise). */
  update(id: string, text: string): void;
  /** Ends a task: its final line is printed once and it leaves the live region. */
  done(id: string, text: string, tone?: Tone): void;
  /** Prints one finished line above the live region. */
  log(text: string, tone?: Tone): void;
  /** Removes the live region. Idempotent; safe to call from `finally`. */
  stop(): Promise<void>;
}

export interface ProgressOptions {
  /** Default process.stderr. */
  stream?: NodeJS.WriteStream;
  /** Default: the stream is a terminal and CI is not set. */
  tty?: boolean;
  env?: NodeJS.ProcessEnv;
}

export async function createProgress(options: ProgressOptions = {}): Promise<ProgressReporter> {
  const stream = options.stream ?? process.stderr;
  const env = options.env ?? process.env;
  const tty = options.tty ?? (Boolean(stream.isTTY) && !env.CI);
  const color = colorEnabled({ env, isTTY: Boolean(stream.isTTY) });
  if (!tty) return createPlainProgress({ stream, color });
  const { createInkProgress } = await import('./InkProgress.js');
  return createInkProgress({ stream, color });
}
