/**
 * `dstack metrics -w` in a terminal: the metrics table redrawn in place, with a line under it while no replica
 * runs. Loaded lazily (TTY only).
 */
import { Box, Text } from 'ink';
import type { RunMetrics } from '../core/api.js';
import { mountLiveView, type LiveView } from './live-view.js';
import { Table } from './InkTable.js';
import { hasRunningReplica, metricsTableModel } from './metrics-table.js';

export function mountMetricsWatch(opts: { metrics: RunMetrics; stream: NodeJS.WriteStream; color: boolean }): LiveView<RunMetrics> {
  return mountLiveView(
    opts.metrics,
    (m) => {
      const { columns, rows } = metricsTableModel(m);
      return (
        <Box flexDirection="column">
          <Table columns={columns} rows={rows} color={opts.color} width={opts.stream.columns || 120} />
          {hasRunningReplica(m) ? null : <Text dimColor>{`Run ${m.run} has no running replica (${m.status}); waiting…`}</Text>}
        </Box>
      );
    },
    opts.stream,
  );
}
