/**
 * The live apply view in a terminal (dstack §6.1 step 7): a spinner "Launching <name>..." above the runs table,
 * redrawn on every run snapshot. Loaded with `await import()` only on a TTY, so pipes never pay for Ink.
 */
import { Box, Text } from 'ink';
import type { RunView } from '../core/api.js';
import { Spinner } from './Spinner.js';
import { Table } from './InkTable.js';
import { runsTableModel } from './runs-table.js';
import { mountLiveView, type LiveView } from './live-view.js';

export interface ApplyProgressProps {
  run: RunView;
  now: number;
  color: boolean;
  /** Terminal width; some pseudo-terminals report 0 columns, which would squeeze the table to nothing. */
  width?: number;
}

export function ApplyProgress({ run, now, color, width }: ApplyProgressProps) {
  const { columns, rows } = runsTableModel([run], { now });
  const waiting = run.desiredReplicas === 0 && run.status === 'running';
  return (
    <Box flexDirection="column">
      <Spinner label={waiting ? `${run.name} is waiting for requests...` : `Launching ${run.name}...`} />
      <Text> </Text>
      <Table columns={columns} rows={rows} color={color} {...(width ? { width } : {})} />
      {waiting ? <Text>{`\nService is published at:\n  ${run.url}`}</Text> : null}
    </Box>
  );
}

export function mountApplyProgress(opts: { run: RunView; stream: NodeJS.WriteStream; color: boolean; now: () => number }): LiveView<RunView> {
  // SIGINT reaches the command, which asks whether to stop the run.
  return mountLiveView(opts.run, (run) => <ApplyProgress run={run} now={opts.now()} color={opts.color} width={opts.stream.columns || 120} />, opts.stream);
}
