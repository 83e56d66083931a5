/**
 * Fake terminal streams for UI tests (STYLE.md: output streams injected, components tested against a fake stdout).
 * They are real Node streams, so Ink and our writers use them exactly as they use process.stdout/stdin.
 */
import { PassThrough, Writable } from 'node:stream';

export interface FakeOut extends Writable {
  isTTY: boolean;
  columns: number;
  rows: number;
  text(): string;
}

export function fakeOut({ isTTY = false, columns = 100 } = {}): NodeJS.WriteStream & FakeOut {
  const chunks: string[] = [];
  const out = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  }) as unknown as NodeJS.WriteStream & FakeOut;
  Object.assign(out, { isTTY, columns, rows: 40, text: () => chunks.join('') });
  return out;
}

/** A TTY-like stdin for Ink's useInput: raw mode is a no-op; `press(keys)` types into it. */
export function fakeIn({ isTTY = true } = {}): NodeJS.ReadStream & { press(keys: string): void } {
  const input = new PassThrough() as unknown as NodeJS.ReadStream & { press(keys: string): void };
  Object.assign(input, {
    isTTY,
    setRawMode: () => input,
    ref: () => input,
    unref: () => input,
    press: (keys: string) => (input as unknown as PassThrough).write(keys),
  });
  return input;
}
