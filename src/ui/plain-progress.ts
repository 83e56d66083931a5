/**
 * Progress as plain lines for pipes, CI logs and `--verbose` captures: a task's line is printed when its
 * text changes (never a redraw, never a spinner frame), so logs stay short and grep-able.
 */
import { createPainter, type Tone } from './colors.js';
import type { ProgressReporter } from './progress.js';

export interface PlainProgressOptions {
  stream: NodeJS.WritableStream;
  color?: boolean;
}

export function createPlainProgress({ stream, color = false }: PlainProgressOptions): ProgressReporter {
  const painter = createPainter(color);
  const last = new Map<string, string>();
  let stopped = false;
  const write = (text: string, tone?: Tone) => {
    if (!stopped) stream.write(`${painter.paint(text, tone)}\n`);
  };
  return {
    update(id, text) {
      if (last.get(id) === text) return;
      last.set(id, text);
      write(text);
    },
    done(id, text, tone) {
      last.delete(id);
      write(text, tone);
    },
    log: write,
    async stop() {
      stopped = true;
    },
  };
}
