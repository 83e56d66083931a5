import { describe, expect, it } from 'vitest';
import { createPainter, stripAnsi } from '../../../src/ui/colors.js';
import { layoutTable, renderTable, truncate, type Column } from '../../../src/ui/table.js';

const columns: Column[] = [{ header: 'NAME' }, { header: 'BACKEND' }, { header: 'PRICE', align: 'right' }, { header: 'STATUS' }];
const rows = [
  { cells: ['llama-8b', 'ssh (remote)', '$0', { text: 'running', tone: 'green' as const }] },
  { cells: ['mistral-7b-instruct', 'aws (us-west-2)', '$1.006', 'provisioning'], dim: true },
];

describe('renderTable', () => {
  it('aligns columns with two spaces, right-aligns numbers, and has no trailing spaces', () => {
    expect(renderTable(columns, rows)).toBe(
      [
        'NAME                 BACKEND           PRICE  STATUS',
        'llama-8b             ssh (remote)         $0  running',
        'mistral-7b-instruct  aws (us-west-2)  $1.006  provisioning',
      ].join('\n'),
    );
  });

  it('truncates the widest columns with … to fit the terminal width', () => {
    const lines = renderTable(columns, rows, { width: 40 }).split('\n');
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(40);
    expect(lines[2]).toContain('…');
    expect(lines[0]).toMatch(/^NAME/);
  });

  it('keeps columns with shrink: 0 whole', () => {
    const cols: Column[] = [{ header: 'NAME', shrink: 0 }, { header: 'RESOURCES' }];
    const out = renderTable(cols, [{ cells: ['a-very-long-run-name', 'cpu=2 mem=8GB disk=100GB gpu=A100:80GB:8'] }], { width: 40 });
    expect(out.split('\n')[1]).toMatch(/^a-very-long-run-name  cpu=/);
  });

  it('colours status cells and dims secondary rows only when the painter is enabled', () => {
    const coloured = renderTable(columns, rows, { painter: createPainter(true) });
    expect(coloured).toContain('\x1b[32mrunning');
    expect(coloured).toContain('\x1b[2m');
    expect(stripAnsi(coloured)).toBe(renderTable(columns, rows));
  });

  it('treats missing cells as empty and flattens newlines', () => {
    const out = layoutTable([{ header: 'A' }, { header: 'B' }], [{ cells: ['x\ny'] }]);
    expect(out.rows[0]?.cells.map((c) => c.text)).toEqual(['x y', '']);
  });
});

describe('truncate', () => {
  it('counts code points, not UTF-16 units', () => {
    expect(truncate('ééééé', 5)).toBe('ééééé');
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abcdef', 1)).toBe('a');
  });
});
