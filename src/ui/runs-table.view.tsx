/**
 * `dstack ps -w` in a terminal: the runs table redrawn in place. Loaded lazily (TTY only).
 */
import type { RunView } from '../core/api.js';
import { Table } from './InkTable.js';
import { runsTableModel } from './runs-table.js';
import { mountLiveView, type LiveView } from './live-view.js';

export function mountRunsWatch(opts: {
  runs: RunView[];
  verbose: boolean;
  stream: NodeJS.WriteStream;
  color: boolean;
  now: () => number;
}): LiveView<RunView[]> {
  return mountLiveView(
    opts.runs,
    (runs) => {
      const { columns, rows } = runsTableModel(runs, { now: opts.now(), verbose: opts.verbose });
      return <Table columns={columns} rows={rows} color={opts.color} width={opts.stream.columns || 120} />;
    },
    opts.stream,
  );
}
