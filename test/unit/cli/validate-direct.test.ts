/**
 * `dstack validate` answered in main.ts without oclif: for every command line it takes, it prints what the oclif
 * command prints, byte for byte, with the same exit code; anything unusual is left to oclif.
 */
import { Config, Errors } from '@oclif/core';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandIo } from '../../../src/commands/base.js';
import Validate from '../../../src/commands/validate.js';
import { parseDirectValidateArgv, validateWithoutOclif } from '../../../src/commands/validate-direct.js';
import { fakeIn, fakeOut } from '../ui/fake-streams.js';

let config: Config;
const dir = mkdtempSync(join(tmpdir(), 'dstack-validate-direct-'));
beforeAll(async () => {
  config = await Config.load({ root: process.cwd(), pjson: { name: 'dstack', version: '0.0.0', oclif: { bin: 'dstack' } } });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

class TestValidate extends Validate {
  static nextIo: CommandIo;
  protected override io = TestValidate.nextIo;
}

function streams(): { io: CommandIo; out: ReturnType<typeof fakeOut>; err: ReturnType<typeof fakeOut> } {
  const out = fakeOut();
  const err = fakeOut();
  return { io: { stdout: out, stderr: err, stdin: fakeIn({ isTTY: false }), env: {} }, out, err };
}

async function viaOclif(argv: string[]) {
  const { io, out, err } = streams();
  TestValidate.nextIo = io;
  let code = 0;
  try {
    await TestValidate.run(argv, config);
  } catch (e) {
    if (!(e instanceof Errors.ExitError)) throw e;
    code = e.oclif.exit ?? -1;
  }
  return { code, stdout: out.text(), stderr: err.text() };
}

async function direct(argv: string[]) {
  const { io, out, err } = streams();
  const code = await validateWithoutOclif(argv, io);
  return { code, stdout: out.text(), stderr: err.text() };
}

const seed = 'test/fixtures/configs/seeds/000-service-ref-autoscaling.dstack.yml';
const sky = 'test/fixtures/configs/seeds/003-skyserve-hello-sky-serve.yaml';

describe('the direct path prints what the oclif command prints', () => {
  const bad = join(dir, 'bad.dstack.yml');
  const broken = join(dir, 'broken.dstack.yml');
  writeFileSync(bad, 'type: service\nname: x\nport: abc\ncommands: [1]\nbogus: 2\n');
  writeFileSync(broken, 'type: service\nport: 80\n  image: [\n');
  const lines = [
    ['-f', seed],
    ['--json', '-f', seed],
    ['--file', seed, '--file', sky, '--json'],
    [`--file=${sky}`, '-v'],
    ['-f', bad],
    ['--json', '-f', bad, '-f', broken],
    ['-f', join(dir, 'missing.yml'), '--json'],
    ['-f', seed, '-f', join(dir, 'missing.yml')],
  ];
  for (const argv of lines) {
    it(`validate ${argv.join(' ').replaceAll(dir, '<tmp>')}`, async () => {
      const expected = await viaOclif(argv);
      expect(await direct(argv)).toEqual(expected);
    });
  }
});

describe('command lines left to oclif', () => {
  for (const argv of [[], ['-f'], ['-f', '-'], ['--json'], ['-f', seed, '--help'], ['-f', seed, '--bogus'], ['--json', '--json', '-f', seed], ['-fx.yml'], ['x.yml']]) {
    it(`validate ${argv.join(' ')}`, async () => {
      expect(parseDirectValidateArgv(argv)).toBeUndefined();
      expect(await direct(argv)).toEqual({ code: undefined, stdout: '', stderr: '' });
    });
  }
});

it('reads every -f in order, with --json anywhere', () => {
  expect(parseDirectValidateArgv(['-f', 'a.yml', '--json', '--file=b.yml', '--file', 'c.yml'])).toEqual({ files: ['a.yml', 'b.yml', 'c.yml'], json: true });
});
