/**
 * `dstack validate` without oclif, for src/main.ts: loading oclif costs more than parsing a configuration (issue
 * 15: `validate --json` ≤ 2x `node -e 0`). As in offer-direct.ts, only plainly written command lines are taken
 * (`-f FILE`, `--file FILE`, `--file=FILE`, `--json`, `-v`); anything else (--help, `-f -`, an unknown or repeated
 * flag) and any error that is not the user's returns undefined before printing, and the oclif command (validate.ts)
 * runs from scratch. Both print through `validateOutput`, so their output is the same.
 */
import { stringify } from 'yaml';
import { config as zodConfig } from 'zod';
import { ConfigError, type LoadedConfig } from '../core/config/load.js';
import { isDstackError, type DstackError } from '../core/errors.js';
import type { CommandIo } from './base.js';
import { STDIN_ARG, loadConfigArg } from './config-input.js';

/** Exit code of a run with problems: EXIT_ERROR in base.ts (not imported: it loads oclif). */
const EXIT_ERROR = 1;

export interface ValidateResult {
  loaded: LoadedConfig[];
  failures: DstackError[];
}

/** Loads every file, collecting the user's errors so one run reports all of them; anything else is thrown. */
export async function loadAll(files: readonly string[], io: Pick<CommandIo, 'stdin' | 'stderr'>): Promise<ValidateResult> {
  const result: ValidateResult = { loaded: [], failures: [] };
  for (const file of files) {
    await loadConfigArg(file, io).then((c) => result.loaded.push(c), (e: unknown) => {
      if (!isDstackError(e) || !e.userFacing) throw e;
      result.failures.push(e);
    });
  }
  return result;
}

export interface ValidateOutput {
  /** One JSON document for stdout (the configs, or one error for all files). */
  json?: unknown;
  /** Text for stdout. */
  text?: string;
  /** Every problem, one per line, for stderr. */
  problems?: string;
  failed: boolean;
}

/** One JSON error for all files: one failure keeps its own code; `problems` lists every file:line:col found. */
function failureJson(failures: DstackError[]): unknown {
  const [only] = failures;
  const code = failures.length === 1 && only ? only.code : 'CONFIG_INVALID';
  const hint = failures.length === 1 ? only?.hint : `${failures.length} files have problems; fix them and run \`dstack validate\` again`;
  const problems = failures.flatMap((e) => (e instanceof ConfigError ? e.problems : []));
  return { error: { code, message: failures.map((e) => e.message).join('\n'), hint, ...(problems.length > 0 ? { problems } : {}) } };
}

export function validateOutput({ loaded, failures }: ValidateResult, json: boolean): ValidateOutput {
  if (failures.length > 0) {
    return { ...(json ? { json: failureJson(failures) } : {}), problems: `${failures.map((e) => e.message).join('\n')}\n`, failed: true };
  }
  const configs = loaded.map(({ path, kind, config }) => ({ path, kind, config }));
  if (json) return { json: { configs }, failed: false };
  return { text: configs.map((c) => `# ${c.path} (${c.kind})\n${stringify(c.config)}`).join('---\n').trimEnd(), failed: false };
}

/** The files and --json of a plainly written `dstack validate` command line (after `validate`), or undefined. */
export function parseDirectValidateArgv(argv: readonly string[]): { files: string[]; json: boolean } | undefined {
  const files: string[] = [];
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--json') {
      if (json) return undefined;
      json = true;
    } else if (arg === '-v' || arg === '--verbose') {
      // Only changes how an internal error is shown, and those are left to the oclif command.
    } else {
      const value = arg === '-f' || arg === '--file' ? argv[++i] : arg.startsWith('--file=') ? arg.slice('--file='.length) : undefined;
      if (value === undefined || value === '' || value === STDIN_ARG || value.startsWith('-')) return undefined;
      files.push(value);
    }
  }
  return files.length > 0 ? { files, json } : undefined;
}

/** Prints what `dstack validate` prints and returns its exit code; undefined (nothing printed) leaves the line to oclif. */
export async function validateWithoutOclif(argv: readonly string[], io: CommandIo = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env }): Promise<number | undefined> {
  const args = parseDirectValidateArgv(argv);
  if (!args) return undefined;
  // zod compiles a fast path (new Function) for each object schema on its first parse, which pays only over many
  // parses; this process parses each schema once. Same results either way.
  zodConfig({ jitless: true });
  let result: ValidateResult;
  try {
    result = await loadAll(args.files, io);
  } catch {
    // Not the user's error: the oclif command meets it again and reports it as every command does.
    return undefined;
  }
  const out = validateOutput(result, args.json);
  if (out.json !== undefined) io.stdout.write(`${JSON.stringify(out.json, null, 2)}\n`);
  if (out.text !== undefined) io.stdout.write(`${out.text}\n`);
  if (out.problems !== undefined) io.stderr.write(out.problems);
  return out.failed ? EXIT_ERROR : 0;
}
