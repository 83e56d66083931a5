/**
 * The Ink table: the same layout as the plain `renderTable` (table.ts), drawn as one `<Box>` row per line
 * so it can sit inside live views (runs table under a spinner). No ink-table: it pins ink 3.
 */
import { Box, Text, useStdout } from 'ink';
import { INK_COLORS } from './colors.js';
import { layoutTable, type Column, type Row } from './table.js';

export interface TableProps {
  columns: readonly Column[];
  rows: readonly Row[];
  /** Defaults to the terminal's width. */
  width?: number;
  color?: boolean;
}

export function Table({ columns, rows, width, color = true }: TableProps) {
  const { stdout } = useStdout();
  const layout = layoutTable(columns, rows, { width: width ?? stdout.columns ?? 80 });
  const sep = ' '.repeat(layout.gap);
  return (
    <Box flexDirection="column">
      <Text bold>{layout.header.map((c) => c.text).join(sep)}</Text>
      {layout.rows.map((row, r) => (
        <Box key={r}>
          {row.cells.map((cell, i) => (
            <Text key={i} dimColor={row.dim} {...(color && cell.tone ? { color: INK_COLORS[cell.tone] } : {})}>
              {i > 0 ? sep : ''}
              {cell.text}
            </Text>
          ))}
        </Box>
      ))}
    </Box>
  );
}
