/**
 * `dstack ps` without oclif, for src/main.ts: loading oclif and the command group costs more than asking the daemon
 * (issue 15: `ps --json` ≤ 2x `node -e 0`, the table ≤ 2.5x). As in validate-direct.ts, only plainly written
 * command lines are taken (`--json`, `-a`/`--all`, `-v`/`--verbose`, `--project NAME`, each once); anything else (-w, -n, --help, a
 * combined or unknown flag) and any error returns undefined before printing, and the oclif command (ps.ts) runs
 * from scratch, reporting the error as every command does. Both print through `psOutput`, so their output is the same.
 */
import { config as zodConfig } from 'zod';
import type { RunView } from '../core/api.js';
import { connectDaemon } from '../core/client/connect.js';
import { DstackError } from '../core/errors.js';
import { formatErrorBanner } from '../ui/error-banner.js';
import { colorEnabled, createPainter, type Painter } from '../ui/colors.js';
import { renderRunsTable } from '../ui/runs-table.js';
import type { CommandIo } from './base.js';

export interface PsArgs {
  all: boolean;
  json: boolean;
  verbose: boolean;
  /** `--project NAME`: connectDaemon resolves it (a remote project never starts the local daemon). */
  project?: string;
}

/** What `dstack ps` writes to stdout for these runs (the JSON document or the table), newline-terminated. */
export function psOutput(runs: RunView[], o: { json: boolean; verbose: boolean; painter: Painter; width?: number | undefined; now: number }): string {
  if (o.json) return `${JSON.stringify({ runs }, null, 2)}\n`;
  return `${renderRunsTable(runs, { now: o.now, verbose: o.verbose, painter: o.painter, ...(o.width !== undefined ? { width: o.width } : {}) })}\n`;
}

const FLAGS: Record<string, 'all' | 'json' | 'verbose'> = { '--json': 'json', '-a': 'all', '--all': 'all', '-v': 'verbose', '--verbose': 'verbose' };

/** The flags of a plainly written `dstack ps` command line (after `ps`), or undefined to leave it to oclif. */
export function parseDirectPsArgv(argv: readonly string[]): PsArgs | undefined {
  const args: PsArgs = { all: false, json: false, verbose: false };
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--project' || arg.startsWith('--project=')) {
      const value = arg === '--project' ? argv[++i] : arg.slice('--project='.length);
      if (args.project !== undefined || value === undefined || value === '' || value.startsWith('-')) return undefined;
      args.project = value;
      continue;
    }
    const flag = FLAGS[arg];
    // oclif refuses a boolean flag given twice (`-a --all` too), so a repeat is its to report.
    if (flag === undefined || seen.has(flag)) return undefined;
    seen.add(flag);
    args[flag] = true;
  }
  return args;
}

/** Prints what `dstack ps` prints and returns 0; undefined (nothing printed) leaves the line to oclif. */
export async function psWithoutOclif(argv: readonly string[], io: Pick<CommandIo, 'stdout' | 'env'> & { stderr?: NodeJS.WriteStream } = { stdout: process.stdout, env: process.env }): Promise<number | undefined> {
  const args = parseDirectPsArgv(argv);
  if (!args) return undefined;
  // As in validate-direct.ts: zod's compiled fast path pays only over many parses; this process parses a few.
  zodConfig({ jitless: true });
  let runs: RunView[];
  try {
    const client = await connectDaemon({ env: io.env, ...(args.project !== undefined ? { project: args.project } : {}) });
    try {
      runs = await client.listRuns(args.all);
    } finally {
      await client.close();
    }
  } catch (e) {
    // A daemon that would not start: handing over would start (and wait for) another one, so report it here, as
    // every command reports errors (banner on stderr, `{error}` on stdout with --json, exit 1).
    if (e instanceof DstackError && e.code === 'DAEMON_START_FAILED') {
      const report = { kind: 'internal' as const, code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
      if (args.json) io.stdout.write(`${JSON.stringify({ error: { code: report.code, message: report.message, hint: report.hint } }, null, 2)}\n`);
      const stderr = io.stderr ?? process.stderr;
      stderr.write(formatErrorBanner(report, { verbose: args.verbose, painter: createPainter(colorEnabled({ env: io.env, isTTY: Boolean(stderr.isTTY) })) }));
      return 1;
    }
    // The oclif command meets the error again (finding the daemon this one may have started) and reports it.
    return undefined;
  }
  const painter = createPainter(colorEnabled({ env: io.env, isTTY: Boolean(io.stdout.isTTY) }));
  io.stdout.write(psOutput(runs, { ...args, painter, width: io.stdout.columns, now: Date.now() }));
  return 0;
}
