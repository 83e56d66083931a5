/**
 * `dstack ps -w -v` redraws its table in place (issue 14: a stale copy of the table was reported above the live one
 * once the table changed height in a 160x30 terminal). The frames Ink writes go into a headless xterm of that size,
 * with the output translation a tty does (LF → CRLF), after a screenful of earlier shell output, while the table
 * grows past the screen's height and shrinks back; the whole buffer, scrollback included, must hold one table.
 */
import { Writable } from 'node:stream';
import xterm from '@xterm/headless';
import { describe, expect, it, vi } from 'vitest';
import { mountRunsWatch } from '../../../src/ui/runs-table.view.js';
import { T0, replica, run } from '../cli/fixtures.js';

// Ink draws only the last frame when CI is set in its process; this is about the frames a terminal user sees.
vi.hoisted(() => {
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
});

function terminal(cols: number, rows: number) {
  const term = new xterm.Terminal({ cols, rows, scrollback: 1000, convertEol: true, allowProposedApi: true });
  let written = Promise.resolve();
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      written = written.then(() => new Promise<void>((resolve) => term.write(chunk.toString(), resolve)));
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY: true, columns: cols, rows });
  const lines = async () => {
    await written;
    const b = term.buffer.active;
    return Array.from({ length: b.length }, (_, i) => b.getLine(i)?.translateToString(true) ?? '');
  };
  return { stream, lines };
}

const tick = () => new Promise((r) => setTimeout(r, 40));
const runWith = (n: number, error?: string) =>
  run({ desiredReplicas: n, replicas: Array.from({ length: n }, (_, i) => replica({ num: i, ...(i === 1 && error ? { error } : {}) })) });

describe('dstack ps -w -v in a 160x30 terminal', () => {
  it('redraws one table in place while it grows past the screen and shrinks back', async () => {
    const { stream, lines } = terminal(160, 30);
    stream.write(`${Array.from({ length: 40 }, (_, i) => `shell line ${i}`).join('\n')}\n`);
    const view = mountRunsWatch({ runs: [runWith(1)], verbose: true, stream, color: false, now: () => T0 });
    const long = 'the container exited with code 137: killed by the kernel OOM killer, it used more memory than its 256MB limit';
    for (const n of [2, 3, 26, 28, 29, 30, 31, 27, 3]) {
      await tick();
      view.update([runWith(n, long)]);
    }
    await tick();
    await view.stop();
    const screen = await lines();
    expect(screen.filter((l) => l.startsWith('NAME ')).length).toBe(1);
    const table = screen.slice(screen.findIndex((l) => l.startsWith('NAME '))).filter((l) => l.trim() !== '');
    expect(table.map((l) => l.split(/\s+/)[0] || l.trim().split(/\s+/)[0])).toEqual(['NAME', 'http-server-service', 'replica=0', 'replica=1', 'replica=2']);
    expect(table.every((l) => l.length <= 160)).toBe(true);
    expect(table[3]).toMatch(/the container exited wit…$/);
  });
});
