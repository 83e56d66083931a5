/**
 * `dstack ps -w` in a terminal: the runs table redrawn in place. Loaded lazily (TTY only).
 */
import { render } from 'ink';
import type { RunView } from '../core/api.js';
import { Table } from './InkTable.js';
import { runsTableModel } from './runs-table.js';
import type { LiveView } from './apply-progress.view.js';

export function mountRunsWatch(opts: {
  runs: RunView[];
  verbose: boolean;
  stream: NodeJS.WriteStream;
  color: boolean;
  now: () => number;
}): LiveView<RunView[]> {
  const view = (runs: RunView[]) => {
    const { columns, rows } = runsTableModel(runs, { now: opts.now(), verbose: opts.verbose });
    return <Table columns={columns} rows={rows} color={opts.color} width={opts.stream.columns || 120} />;
  };
  const app = render(view(opts.runs), { stdout: opts.stream, exitOnCtrlC: false, patchConsole: false });
  let stopped = false;
  return {
    update: (runs) => {
      if (!stopped) app.rerender(view(runs));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      app.unmount();
      await app.waitUntilExit().catch(() => undefined);
    },
  };
}
