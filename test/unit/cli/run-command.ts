/**
 * Runs a command class the way oclif would, with injected streams and environment (BaseCommand reads them from
 * `io`; a subclass swaps them, as base.test.ts does). Resolves with the exit code and what each stream got.
 */
import { Errors, type Command, type Config } from '@oclif/core';
import type { CommandIo } from '../../../src/commands/base.js';
import { fakeIn, fakeOut } from '../ui/fake-streams.js';

export interface RunCommandOptions {
  env?: NodeJS.ProcessEnv;
  /** Written to standard input, which then ends. */
  stdin?: string;
  stdinTTY?: boolean;
  /** Terminal width of the fake stdout/stderr (a pipe has none; tables wider than this are truncated). */
  columns?: number;
}

export async function runCommand(config: Config, Cmd: Command.Class, argv: string[], opts: RunCommandOptions = {}) {
  const out = fakeOut(opts.columns !== undefined ? { columns: opts.columns } : {});
  const err = fakeOut(opts.columns !== undefined ? { columns: opts.columns } : {});
  const stdin = fakeIn({ isTTY: opts.stdinTTY ?? false });
  if (opts.stdin !== undefined) (stdin as unknown as NodeJS.WritableStream).end(opts.stdin);
  const io: CommandIo = { stdout: out, stderr: err, stdin, env: opts.env ?? {} };
  const Injected = class extends (Cmd as unknown as new (...a: never[]) => object) {
    io = io;
  } as unknown as Command.Class;
  let code = 0;
  try {
    await Injected.run(argv, config);
  } catch (e) {
    if (!(e instanceof Errors.ExitError)) throw e;
    code = e.oclif.exit ?? -1;
  }
  return { code, stdout: out.text(), stderr: err.text() };
}
