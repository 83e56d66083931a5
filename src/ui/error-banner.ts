/**
 * The one error banner (STYLE.md "Errors"): `Error: <message>` and `Hint: <what to do>` on stderr.
 * User errors never show a stack; internal errors point at --verbose, which shows the stack and causes.
 */
import type { Painter } from './colors.js';
import { createPainter } from './colors.js';

export interface ErrorReport {
  kind: 'user' | 'usage' | 'internal';
  message: string;
  hint?: string;
  code?: string;
  /** Shown under --verbose only. */
  stack?: string;
  causes?: string[];
}

export interface BannerOptions {
  verbose?: boolean;
  painter?: Painter;
}

export function formatErrorBanner(report: ErrorReport, { verbose = false, painter = createPainter(false) }: BannerOptions = {}): string {
  const code = verbose && report.code ? ` [${report.code}]` : '';
  const lines = [`${painter.paint(`Error${code}:`, 'red')} ${report.message}`];
  if (report.hint) lines.push(`${painter.paint('Hint:', 'yellow')} ${report.hint}`);
  if (report.kind === 'internal') {
    if (verbose) {
      if (report.stack) lines.push('', painter.dim(report.stack));
      for (const cause of report.causes ?? []) lines.push(painter.dim(`Caused by: ${cause}`));
    } else {
      lines.push(painter.dim('(run with --verbose for the stack)'));
    }
  } else if (verbose) {
    for (const cause of report.causes ?? []) lines.push(painter.dim(`Caused by: ${cause}`));
  }
  return `${lines.join('\n')}\n`;
}

/** The chain of `cause`s below an error, as one line each (messages only; secrets are never in messages). */
export function causeChain(err: unknown, limit = 5): string[] {
  const out: string[] = [];
  let cur = (err as { cause?: unknown } | null)?.cause;
  while (cur !== undefined && cur !== null && out.length < limit) {
    out.push(cur instanceof Error ? `${cur.name}: ${cur.message}` : String(cur));
    cur = (cur as { cause?: unknown }).cause;
  }
  return out;
}
