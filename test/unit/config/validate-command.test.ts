// `dstack validate` end to end through oclif: normalized YAML/JSON on stdout, every problem on stderr, exit 1.
import { Config, Errors } from '@oclif/core';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import Validate from '../../../src/commands/validate.js';
import type { CommandIo } from '../../../src/commands/base.js';
import { fakeIn, fakeOut } from '../ui/fake-streams.js';

let config: Config;
const dir = mkdtempSync(join(tmpdir(), 'dstack-validate-test-'));
beforeAll(async () => {
  config = await Config.load({ root: process.cwd(), pjson: { name: 'dstack', version: '0.0.0', oclif: { bin: 'dstack' } } });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

class TestValidate extends Validate {
  static nextIo: CommandIo;
  protected override io = TestValidate.nextIo;
}

async function run(argv: string[]) {
  const out = fakeOut();
  const err = fakeOut();
  TestValidate.nextIo = { stdout: out, stderr: err, stdin: fakeIn({ isTTY: false }), env: {} };
  let code = 0;
  try {
    await TestValidate.run(argv, config);
  } catch (e) {
    if (!(e instanceof Errors.ExitError)) throw e;
    code = e.oclif.exit ?? -1;
  }
  return { code, stdout: out.text(), stderr: err.text() };
}

const seed = 'test/fixtures/configs/seeds/000-service-ref-autoscaling.dstack.yml';
const sky = 'test/fixtures/configs/seeds/003-skyserve-hello-sky-serve.yaml';

describe('dstack validate', () => {
  test('prints the normalized configuration as YAML', async () => {
    const r = await run(['-f', seed]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.startsWith(`# ${seed} (service)\n`)).toBe(true);
    expect(parse(r.stdout)).toMatchObject({ type: 'service', replicas: { min: 1, max: 4 }, scaling: { window: 60, scale_up_delay: 300 } });
  });
  test('--json with several files', async () => {
    const r = await run(['-f', seed, '-f', sky, '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { configs: { path: string; kind: string; config: { source_format: string } }[] };
    expect(json.configs.map((c) => [c.path, c.kind, c.config.source_format])).toEqual([[seed, 'service', 'dstack'], [sky, 'service', 'skyserve']]);
  });
  test('invalid files: every problem on stderr, nothing on stdout, exit 1, no stack', async () => {
    const bad = join(dir, 'bad.dstack.yml');
    writeFileSync(bad, 'type: service\nport: "*:8000"\nreplica: 2\n');
    const missing = join(dir, 'missing.yml');
    const r = await run(['-f', bad, '-f', seed, '-f', missing]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe([
      `${bad}:1:1: Either \`commands\` or \`image\` must be set`,
      `${bad}:2:7 port: \`*\` is not allowed for a service port; expected \`8000\` or \`LOCAL:CONTAINER\` like \`8080:8000\``,
      `${bad}:3:1 replica: unknown field \`replica\`; did you mean \`replicas\`?`,
      `${missing}: no such file`,
      '',
    ].join('\n'));
  });
});
