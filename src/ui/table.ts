/**
 * Plain-text tables: column widths, alignment, width-aware truncation. One layout serves both outputs:
 * `renderTable` (non-TTY, pipes, `--verbose` logs) and the Ink `<Table>` (which draws the same cells in `<Text>`),
 * so a table reads the same in a terminal and in a log file.
 */
import { createPainter, type Painter, type Tone } from './colors.js';

export interface Column {
  /** Printed as given; dstack prints headers in upper case (`NAME`, `BACKEND`). */
  header: string;
  align?: 'left' | 'right';
  /** Relative willingness to lose width when the table is too wide; 0 never shrinks. Default 1. */
  shrink?: number;
  /** Never narrower than this (default: the header's width, at least 3, at most the natural width). */
  minWidth?: number;
}

export interface Cell {
  text: string;
  tone?: Tone;
}

export interface Row {
  cells: ReadonlyArray<string | Cell | undefined>;
  /** Secondary rows (offers after the first, finished runs) are dimmed. */
  dim?: boolean;
}

export interface LaidOutRow {
  /** Cell texts already truncated and padded to the column width (the last column is not right-padded). */
  cells: Cell[];
  dim: boolean;
}

export interface TableLayout {
  widths: number[];
  gap: number;
  header: Cell[];
  rows: LaidOutRow[];
}

export interface TableOptions {
  /** Terminal width; undefined = never truncate (pipes). */
  width?: number;
  gap?: number;
}

export const textWidth = (s: string): number => [...s].length;

export function truncate(text: string, width: number): string {
  if (textWidth(text) <= width) return text;
  if (width <= 1) return [...text].slice(0, width).join('');
  return `${[...text].slice(0, width - 1).join('')}…`;
}

function pad(text: string, width: number, align: 'left' | 'right', last: boolean): string {
  const fill = ' '.repeat(Math.max(0, width - textWidth(text)));
  if (align === 'right') return fill + text;
  return last ? text : text + fill;
}

const toCell = (c: string | Cell | undefined): Cell => (typeof c === 'string' ? { text: c } : (c ?? { text: '' }));
const oneLine = (s: string) => s.replace(/[\r\n\t]+/g, ' ');

function fitWidths(columns: readonly Column[], natural: number[], budget: number): number[] {
  const widths = [...natural];
  const min = columns.map((c, i) => c.minWidth ?? Math.min(natural[i] ?? 0, Math.max(3, textWidth(c.header))));
  let excess = widths.reduce((a, b) => a + b, 0) - budget;
  while (excess > 0) {
    // Take one column of width from the column with the most slack, weighted by its shrink factor.
    let pick = -1;
    let best = 0;
    widths.forEach((w, i) => {
      const slack = (w - (min[i] ?? 0)) * (columns[i]?.shrink ?? 1);
      if (slack > best) [pick, best] = [i, slack];
    });
    if (pick < 0) break;
    widths[pick] = (widths[pick] ?? 0) - 1;
    excess -= 1;
  }
  return widths;
}

export function layoutTable(columns: readonly Column[], rows: readonly Row[], options: TableOptions = {}): TableLayout {
  const gap = options.gap ?? 2;
  const raw = rows.map((r) => columns.map((_, i) => toCell(r.cells[i])).map((c) => ({ ...c, text: oneLine(c.text) })));
  const natural = columns.map((c, i) => Math.max(textWidth(c.header), ...raw.map((r) => textWidth(r[i]?.text ?? ''))));
  const budget = options.width === undefined ? Infinity : options.width - gap * Math.max(0, columns.length - 1);
  const widths = fitWidths(columns, natural, budget);
  const fit = (cells: Cell[]): Cell[] =>
    cells.map((c, i) => {
      const w = widths[i] ?? 0;
      return { ...c, text: pad(truncate(c.text, w), w, columns[i]?.align ?? 'left', i === columns.length - 1) };
    });
  return {
    widths,
    gap,
    header: fit(columns.map((c) => ({ text: c.header }))),
    rows: raw.map((cells, i) => ({ cells: fit(cells), dim: rows[i]?.dim ?? false })),
  };
}

/** Lines of the table, without a trailing newline. Colour only when `painter` is enabled. */
export function renderTable(
  columns: readonly Column[],
  rows: readonly Row[],
  options: TableOptions & { painter?: Painter } = {},
): string {
  const layout = layoutTable(columns, rows, options);
  const p = options.painter ?? createPainter(false);
  const sep = ' '.repeat(layout.gap);
  const header = p.bold(layout.header.map((c) => c.text).join(sep).trimEnd());
  const body = layout.rows.map((r) => {
    const line = r.cells.map((c) => p.paint(c.text, c.tone)).join(sep);
    return r.dim ? p.dim(line) : line;
  });
  return [header, ...body].map((l) => l.trimEnd()).join('\n');
}
