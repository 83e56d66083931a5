// Every `type: service` / `type: fleet` configuration in dstack's current documentation validates the way
// `dstack validate -f FILE` reads it. The fixtures are extracted by scripts/extract-dstack-examples.mjs (each
// names its source on line 1); re-run that script against a newer dstack checkout to refresh them.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { loadConfigArg } from '../../../src/commands/config-input.js';
import type { LoadedConfig } from '../../../src/core/config/load.js';

const dir = 'test/fixtures/configs/dstack-docs';
const files = readdirSync(dir).filter((f) => f.endsWith('.dstack.yml')).sort();
const io = { stdin: process.stdin, stderr: process.stderr };

/**
 * Fragments that dstack itself rejects, with dstack's own errors (checked by running dstack's pydantic models,
 * `parse_apply_configuration`, over these fixtures) and the `file:line:col` problems we report for the same reason.
 */
const DSTACK_REJECTS: Record<string, { reason: string; problems: string[] }> = {
  'mkdocs__docs__concepts__secrets.md__1.dstack.yml': {
    reason: 'a fragment about `env` secrets: no `port` (dstack: "service.port Field required") and `commands: ...` '
      + 'as a placeholder (dstack: "service.commands Input should be a valid list")',
    problems: ['2:1 port: `port` is required', '6:3 commands: expected a list, got `...`'],
  },
  'mkdocs__docs__concepts__secrets.md__2.dstack.yml': {
    reason: 'a fragment about `registry_auth` secrets: no `port` (dstack: "service.port Field required")',
    problems: ['2:1 port: `port` is required'],
  },
};

async function load(file: string): Promise<LoadedConfig> {
  return loadConfigArg(`${dir}/${file}`, io);
}

describe('dstack docs examples', () => {
  test('the fixtures are there, each naming its source', () => {
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      expect(readFileSync(`${dir}/${f}`, 'utf8').split('\n')[0], f).toMatch(/^# source: dstackai\/dstack@[0-9a-f]{40} \S+:\d+$/);
    }
    for (const f of Object.keys(DSTACK_REJECTS)) expect(files, 'a listed rejection names a fixture that exists').toContain(f);
  });

  test.each(files.filter((f) => !(f in DSTACK_REJECTS)))('%s validates', async (file) => {
    const loaded = await load(file);
    const type = /^type:\s*(service|fleet)/m.exec(readFileSync(`${dir}/${file}`, 'utf8'))?.[1];
    expect(loaded.kind).toBe(type);
  });

  test.each(Object.entries(DSTACK_REJECTS))('%s is rejected as dstack rejects it', async (file, { problems }) => {
    const error = await load(file).then(() => undefined, (e: unknown) => e as Error);
    expect(error?.message.split('\n')).toEqual(problems.map((p) => `${dir}/${file}:${p}`));
  });
});
