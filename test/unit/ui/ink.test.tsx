import { renderToString } from 'ink';
import { describe, expect, it } from 'vitest';
import { stripAnsi } from '../../../src/ui/colors.js';
import { Table } from '../../../src/ui/InkTable.js';
import { createInkProgress } from '../../../src/ui/InkProgress.js';
import { askConfirm } from '../../../src/ui/prompt.js';
import { renderTable, type Column } from '../../../src/ui/table.js';
import { fakeIn, fakeOut } from './fake-streams.js';

const columns: Column[] = [{ header: 'NAME' }, { header: 'STATUS' }, { header: 'SUBMITTED' }];
const rows = [
  { cells: ['web', { text: 'running', tone: 'green' as const }, 'now'] },
  { cells: ['llama-3-8b-instruct', { text: 'failed', tone: 'red' as const }, '11 mins ago'], dim: true },
];

describe('<Table>', () => {
  it('draws the same text as the plain renderer', () => {
    const ink = stripAnsi(renderToString(<Table columns={columns} rows={rows} width={80} />, { columns: 80 }));
    expect(ink.split('\n').map((l) => l.trimEnd())).toEqual(renderTable(columns, rows, { width: 80 }).split('\n'));
  });

  it('truncates to the given width', () => {
    const ink = stripAnsi(renderToString(<Table columns={columns} rows={rows} width={30} />, { columns: 30 }));
    for (const line of ink.split('\n')) expect([...line.trimEnd()].length).toBeLessThanOrEqual(30);
    expect(ink).toContain('…');
  });
});

describe('Ink progress', () => {
  it('prints finished lines once and drops live tasks from the final frame', async () => {
    const out = fakeOut({ isTTY: true });
    const p = createInkProgress({ stream: out, color: false, debug: true });
    p.update('plan', 'Getting apply plan...');
    p.done('plan', 'Plan ready');
    p.update('launch', 'Launching web...');
    p.log('Service is published at:');
    await p.stop();
    await p.stop();
    const text = stripAnsi(out.text());
    expect(text).toContain('Getting apply plan...');
    expect(text).toContain('Launching web...');
    expect(text.match(/Plan ready/g)?.length).toBeGreaterThanOrEqual(1);
    // The last frame written ends with the finished lines and no spinner label.
    const lastFrame = text.slice(text.lastIndexOf('Plan ready'));
    expect(lastFrame).not.toContain('Launching web...');
  });
});

describe('askConfirm (line-based)', () => {
  it.each([
    ['y\r', true],
    ['N\r', false],
    ['yes\n', true],
  ])('answers %j → %s, the key and Enter arriving as one chunk', async (keys, expected) => {
    const stdin = fakeIn();
    const stdout = fakeOut({ isTTY: true });
    const answer = askConfirm({ question: 'Submit the run web?', stdin, stdout });
    setImmediate(() => stdin.press(keys));
    await expect(answer).resolves.toBe(expected);
    expect(stripAnsi(stdout.text())).toContain('Submit the run web? [y/n]: ');
  });

  it('waits for Enter, and asks again after an answer that is neither y nor n', async () => {
    const stdin = fakeIn();
    const stdout = fakeOut({ isTTY: true });
    let settled = false;
    const answer = askConfirm({ question: 'Q?', stdin, stdout }).finally(() => (settled = true));
    stdin.press('y');
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    stdin.press('\x7fmaybe\r');
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    expect(stripAnsi(stdout.text())).toContain('Please enter y or n');
    stdin.press('n\r');
    await expect(answer).resolves.toBe(false);
  });

  it('takes the default on Enter, and aborts on Ctrl+C or the end of input', async () => {
    const stdin = fakeIn();
    const yes = askConfirm({ question: 'Q?', defaultValue: true, stdin, stdout: fakeOut({ isTTY: true }) });
    setImmediate(() => stdin.press('\r'));
    await expect(yes).resolves.toBe(true);
    const stdin2 = fakeIn();
    const aborted = askConfirm({ question: 'Q?', stdin: stdin2, stdout: fakeOut({ isTTY: true }) });
    setImmediate(() => stdin2.press('\x03'));
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
    const stdin3 = fakeIn();
    const ended = askConfirm({ question: 'Q?', stdin: stdin3, stdout: fakeOut({ isTTY: true }) });
    setImmediate(() => stdin3.end());
    await expect(ended).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
