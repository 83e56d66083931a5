import { describe, expect, it } from 'vitest';
import { runsTableModel } from '../../../src/ui/runs-table.js';
import { T0, replica, run } from '../cli/fixtures.js';

const text = (cell: unknown) => (typeof cell === 'string' ? cell : (cell as { text: string }).text);

describe('runs table with replica groups', () => {
  const grouped = run({
    desiredReplicas: 3,
    rps: 7.5,
    groups: [
      { name: 'web', running: 1, desired: 2, min: 0, max: 3, rps: 7.5 },
      { name: 'batch', running: 1, desired: 1, min: 1, max: 1, rps: 7.25 },
    ],
    replicas: [replica({ num: 0, group: 'web' }), replica({ num: 1, group: 'web', status: 'provisioning', ready: false }), replica({ num: 3, group: 'batch' })],
  });

  it('labels replica rows `group=G replica=N`, as dstack does', () => {
    const { rows } = runsTableModel([grouped], { now: T0 });
    expect(rows.map((r) => text(r.cells[0]))).toEqual(['http-server-service', '  group=web replica=0', '  group=web replica=1', '  group=batch replica=3']);
  });

  it('-v adds a row per group with its running/desired replicas and rps, its replicas under it', () => {
    const { columns, rows } = runsTableModel([grouped], { now: T0, verbose: true });
    const col = (name: string) => columns.findIndex((c) => c.header === name);
    const cells = rows.map((r) => [text(r.cells[0]), text(r.cells[col('REPLICAS')]), text(r.cells[col('RPS')])]);
    expect(cells).toEqual([
      ['http-server-service', '2/3', '7.5'],
      ['  group=web', '1/2', '7.5'],
      ['    replica=0', '', ''],
      ['    replica=1', '', ''],
      ['  group=batch', '1/1', '7.3'],
      ['    replica=3', '', ''],
    ]);
    expect(rows.every((r) => r.cells.length === columns.length)).toBe(true);
  });
});
