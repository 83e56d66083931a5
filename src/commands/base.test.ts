import { Config, Errors, Flags } from '@oclif/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { InternalError, UserError } from '../core/errors.js';
import { fakeIn, fakeOut } from '../../test/unit/ui/fake-streams.js';
import { BaseCommand, EXIT_ERROR, EXIT_USAGE, type CommandIo } from './base.js';

let config: Config;
beforeAll(async () => {
  config = await Config.load({ root: process.cwd(), pjson: { name: 'dstack', version: '0.0.0', oclif: { bin: 'dstack' } } });
});

function makeIo(env: NodeJS.ProcessEnv = {}): CommandIo & { out: ReturnType<typeof fakeOut>; err: ReturnType<typeof fakeOut> } {
  const out = fakeOut();
  const err = fakeOut();
  return { stdout: out, stderr: err, stdin: fakeIn({ isTTY: false }), env, out, err };
}

/** Runs a command class like oclif does; resolves with the exit code and what was written. */
async function runCmd(Cmd: typeof Probe, argv: string[], env: NodeJS.ProcessEnv = {}) {
  const io = makeIo(env);
  Cmd.nextIo = io;
  let code = 0;
  try {
    await Cmd.run(argv, config);
  } catch (e) {
    if (!(e instanceof Errors.ExitError)) throw e;
    code = e.oclif.exit ?? -1;
  }
  return { code, stdout: io.out.text(), stderr: io.err.text() };
}

class Probe extends BaseCommand {
  static nextIo: CommandIo;
  static override id = 'probe';
  static override enableJsonFlag = true;
  static override flags = {
    file: Flags.string({ char: 'f', required: true }),
    fail: Flags.string({ options: ['user', 'internal', 'confirm', 'none'], default: 'none' }),
  };
  protected override io = Probe.nextIo;
  async run(): Promise<unknown> {
    const { flags } = await this.parse(Probe);
    if (flags.fail === 'user') throw new UserError('CONFIG_INVALID', `${flags.file}: bad thing`, { hint: 'fix the thing' });
    if (flags.fail === 'internal') throw new InternalError('BUG', 'it broke', { cause: new Error('deeper') });
    if (flags.fail === 'confirm') await this.confirmOrFail('Submit the run x?');
    this.printJson({ file: flags.file, tty: this.isTTY() });
    return undefined;
  }
}

describe('BaseCommand error handling', () => {
  it('shows a UserError as one banner with its hint, no stack, exit 1', async () => {
    const r = await runCmd(Probe, ['-f', 'a.yml', '--fail', 'user']);
    expect(r.code).toBe(EXIT_ERROR);
    expect(r.stderr).toBe('Error: a.yml: bad thing\nHint: fix the thing\n');
  });

  it('points internal errors at --verbose, and shows the stack and causes under it', async () => {
    const quiet = await runCmd(Probe, ['-f', 'a.yml', '--fail', 'internal']);
    expect(quiet.code).toBe(EXIT_ERROR);
    expect(quiet.stderr).toContain('Error: it broke');
    expect(quiet.stderr).toContain('(run with --verbose for the stack)');
    expect(quiet.stderr).not.toMatch(/\n\s+at /);
    const verbose = await runCmd(Probe, ['-f', 'a.yml', '--fail', 'internal', '--verbose']);
    expect(verbose.stderr).toMatch(/\n\s+at /);
    expect(verbose.stderr).toContain('Caused by: Error: deeper');
    expect(verbose.stderr).toContain('[BUG]');
  });

  it('exits 2 naming an unknown flag', async () => {
    const r = await runCmd(Probe, ['-f', 'a.yml', '--nope']);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.stderr).toContain('Error: Unknown flag: --nope');
    expect(r.stderr).toContain('Hint: run `dstack probe --help`');
  });

  it('exits 2 naming a missing required flag', async () => {
    const r = await runCmd(Probe, []);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.stderr).toMatch(/^Error: Missing required flag file\n/);
  });

  it('exits 2 on a flag value outside its options', async () => {
    const r = await runCmd(Probe, ['-f', 'x', '--fail', 'maybe']);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.stderr).toContain('--fail=maybe');
  });

  it('never prompts without a terminal: it names -y/--yes', async () => {
    const r = await runCmd(Probe, ['-f', 'a.yml', '--fail', 'confirm']);
    expect(r.code).toBe(EXIT_ERROR);
    expect(r.stderr).toContain('Hint: Pass -y/--yes to confirm without a terminal');
  });

  it('answers --json errors as JSON on stdout as well as the banner', async () => {
    const r = await runCmd(Probe, ['-f', 'a.yml', '--fail', 'user', '--json']);
    expect(JSON.parse(r.stdout)).toEqual({ error: { code: 'CONFIG_INVALID', message: 'a.yml: bad thing', hint: 'fix the thing' } });
    expect(r.stderr).toContain('Error: a.yml: bad thing');
  });
});

describe('BaseCommand output helpers', () => {
  it('prints JSON results on stdout and nothing on stderr', async () => {
    const r = await runCmd(Probe, ['-f', 'a.yml']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ file: 'a.yml', tty: false });
    expect(r.stderr).toBe('');
  });

  it('colours the banner only when FORCE_COLOR asks for it and NO_COLOR is unset', async () => {
    const forced = await runCmd(Probe, ['-f', 'a.yml', '--fail', 'user'], { FORCE_COLOR: '1' });
    expect(forced.stderr).toContain('\x1b[31m');
    const off = await runCmd(Probe, ['-f', 'a.yml', '--fail', 'user'], { FORCE_COLOR: '1', NO_COLOR: '1' });
    expect(off.stderr).not.toContain('\x1b[');
  });
});
