/**
 * The base of every command: global -v/--verbose, the one place errors are caught and shown (STYLE.md
 * "Errors"), TTY/colour decisions, JSON on stdout, progress on stderr, and prompts that never hang a pipe.
 * Ink is never imported here: commands load their Ink views with `await import()` only in a TTY.
 */
import { Command, Errors, Flags, type Interfaces } from '@oclif/core';
import { UserError, isDstackError } from '../core/errors.js';
import { colorEnabled, createPainter, stripAnsi, type Painter } from '../ui/colors.js';
import { causeChain, formatErrorBanner, type ErrorReport } from '../ui/error-banner.js';
import { createProgress, type ProgressReporter } from '../ui/progress.js';

export interface CommandIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  env: NodeJS.ProcessEnv;
}

/**
 * `--project NAME` of every command that talks to a server: a project of the local daemon, or one added with
 * `dstack project add` (on another server). Default: env DSTACK_PROJECT, then config.yml's `default_project`.
 */
export const projectFlag = Flags.string({ description: 'The project (default: DSTACK_PROJECT, then config.yml `default_project`).', helpGroup: 'GLOBAL' });

/** oclif's FlagOutput/ArgOutput, which its package does not export. */
type ParsedOutput = { [name: string]: any };

/** Exit codes: 1 for errors (user or internal), 2 for command-line usage errors (unknown flag, missing flag). */
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;

/** Replaced at bundle time by scripts/build.mjs (esbuild `define`), as in src/agent/version.ts. */
declare const __DSTACK_VERSION__: string | undefined;

/** The package.json version in a bundle; unbundled runs (tests) say `0.0.0-dev`. */
export const VERSION: string = typeof __DSTACK_VERSION__ === 'string' ? __DSTACK_VERSION__ : '0.0.0-dev';

export abstract class BaseCommand extends Command {
  static override baseFlags = {
    verbose: Flags.boolean({ char: 'v', description: 'Show more detail, and the stack of internal errors.', helpGroup: 'GLOBAL' }),
  };

  /** Replaced in tests by fake streams. */
  protected io: CommandIo = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };

  /** Read from argv so it also works when parsing itself failed. */
  protected isVerbose(): boolean {
    const end = this.argv.indexOf('--');
    const flags = end < 0 ? this.argv : this.argv.slice(0, end);
    return flags.some((a) => a === '--verbose' || /^-[a-zA-Z]*v[a-zA-Z]*$/.test(a));
  }

  /** Interactive output (Ink, spinners, prompts) only on a terminal and never under CI. */
  isTTY(): boolean {
    return Boolean(this.io.stdout.isTTY) && !this.io.env.CI;
  }

  painter(stream: NodeJS.WriteStream = this.io.stdout): Painter {
    return createPainter(colorEnabled({ env: this.io.env, isTTY: Boolean(stream.isTTY) }));
  }

  /** Set once a JSON document is on stdout: stdout never carries two, so an error after a result is not added. */
  private printedJson = false;

  /** Results go to stdout; one JSON document, pretty-printed, newline-terminated. */
  printJson(value: unknown): void {
    this.printedJson = true;
    this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A line of result text on stdout. */
  print(text = ''): void {
    this.io.stdout.write(`${text}\n`);
  }

  /** A line of progress/diagnostics on stderr. */
  note(text = ''): void {
    this.io.stderr.write(`${text}\n`);
  }

  /** Spinners in a terminal, plain lines otherwise; always on stderr. Call `stop()` in `finally`. */
  progress(): Promise<ProgressReporter> {
    return createProgress({ stream: this.io.stderr, env: this.io.env, tty: Boolean(this.io.stderr.isTTY) && !this.io.env.CI });
  }

  /** Asks y/n on a terminal; without one, fails naming the flag that confirms non-interactively. */
  async confirmOrFail(question: string, flag = '-y/--yes'): Promise<boolean> {
    if (!this.io.stdin.isTTY || !this.io.stderr.isTTY || this.io.env.CI) {
      throw new UserError('CONFIRMATION_REQUIRED', `${question} — cannot ask without a terminal`, {
        hint: `Pass ${flag} to confirm without a terminal`,
      });
    }
    const { askConfirm } = await import('../ui/prompt.js');
    return askConfirm({ question, stdin: this.io.stdin, stdout: this.io.stderr });
  }

  /**
   * JSON mode: the command declares a `--json` flag (or oclif's `enableJsonFlag`) and the command line has it
   * before any `--`. oclif's own check only knows `enableJsonFlag`, which our commands do not use (each describes
   * its own `--json` output), so scripts got no JSON errors. Read from argv, so a usage error answers in JSON too.
   */
  override jsonEnabled(): boolean {
    const ctor = this.constructor as typeof BaseCommand;
    if (!ctor.enableJsonFlag && !Object.hasOwn(ctor.flags ?? {}, 'json')) return false;
    const end = this.argv.indexOf('--');
    return (end < 0 ? this.argv : this.argv.slice(0, end)).includes('--json');
  }

  /** Flag values that fail their own parser (`--max-offers 0`) come out of oclif as a bare CLIError: usage all the same. */
  protected override async parse<F extends ParsedOutput, B extends ParsedOutput, A extends ParsedOutput>(options?: Interfaces.Input<F, B, A>, argv?: string[]): Promise<Interfaces.ParserOutput<F, B, A>> {
    try {
      const parsed = await super.parse(options, argv);
      // connectDaemon reads the project from the env it is given (this.io.env), so commands only declare the flag.
      const project: unknown = parsed.flags.project;
      if (typeof project === 'string') this.io = { ...this.io, env: { ...this.io.env, DSTACK_PROJECT: project } };
      return parsed;
    } catch (e) {
      throw e instanceof Errors.CLIError && !(e instanceof Errors.ExitError) && !('parse' in e) ? new FlagValueError(e.message) : e;
    }
  }

  /** An error as scripts read it: `{error: {code, message, hint}}` on stdout (extra keys for details). */
  printJsonError(report: Pick<ErrorReport, 'code' | 'message' | 'hint'>, extra: Record<string, unknown> = {}): void {
    this.printJson({ error: { code: report.code, message: report.message, hint: report.hint, ...extra } });
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    // `this.exit()` throws ExitError on purpose; it is not a failure to report.
    if (err instanceof Errors.ExitError) throw err;
    const { report, exitCode } = describeError(err, this.id ?? '');
    // A result already printed (a fleet whose hosts all failed) says what happened; the exit code says it failed.
    if (this.jsonEnabled() && !this.printedJson) this.printJsonError(report);
    this.io.stderr.write(formatErrorBanner(report, { verbose: this.isVerbose(), painter: this.painter(this.io.stderr) }));
    return this.exit(exitCode);
  }
}

/** A command-line error that oclif raised without marking it a parse error (it has `parse`, like oclif's own). */
class FlagValueError extends Errors.CLIError {
  readonly parse = {};
}

/** Classifies by type, never by message text: our hierarchy, oclif's parse errors, then everything else. */
export function describeError(err: unknown, commandId = ''): { report: ErrorReport; exitCode: number } {
  const causes = causeChain(err);
  if (isDstackError(err)) {
    const kind = err.userFacing ? 'user' : 'internal';
    const report: ErrorReport = { kind, message: err.message, code: err.code, causes, ...(err.stack ? { stack: err.stack } : {}) };
    if (err.hint) report.hint = err.hint;
    return { report, exitCode: EXIT_ERROR };
  }
  if (err instanceof Errors.CLIError && 'parse' in err) {
    return { report: { kind: 'usage', code: 'USAGE', ...describeParseError(err, commandId) }, exitCode: EXIT_USAGE };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return { report: { kind: 'internal', code: 'INTERNAL', message: e.message, causes, ...(e.stack ? { stack: e.stack } : {}) }, exitCode: EXIT_ERROR };
}

function describeParseError(err: Errors.CLIError, commandId: string): { message: string; hint: string } {
  const help = `run \`dstack ${commandId.replaceAll(':', ' ')} --help\` for the flags and arguments`.replace('dstack  ', 'dstack ');
  const flags = (err as { flags?: unknown }).flags;
  if (Array.isArray(flags) && flags.length > 0) {
    return { message: `Unknown flag${flags.length > 1 ? 's' : ''}: ${flags.join(', ')}`, hint: help };
  }
  // oclif appends its own help pointer and dims reasons; we print our own hint, so keep only the reasons.
  const lines = stripAnsi(err.message)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^See more help with/.test(l) && !/^The following errors? occurred:$/.test(l));
  return { message: lines.join('; '), hint: help };
}
