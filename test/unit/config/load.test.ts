// File-level failures are one-line UserErrors (never a stack); problems carry file:line:col and dotted paths.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { loadConfigFile } from '../../../src/core/config/load.js';
import { parseConfigObject } from '../../../src/core/config/parse.js';
import { ConfigError } from '../../../src/core/config/problems.js';
import { UserError } from '../../../src/core/errors.js';
import { rmSync } from 'node:fs';

const dir = mkdtempSync(join(tmpdir(), 'dstack-config-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string | Buffer) => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};
const failure = async (path: string) => {
  const e = await loadConfigFile(path).then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(UserError);
  const err = e as UserError;
  expect(err.message.split('\n')).toHaveLength(1);
  return { code: err.code, message: err.message };
};

describe('file-level errors', () => {
  test('missing file', async () => {
    const p = join(dir, 'nope.yml');
    expect(await failure(p)).toEqual({ code: 'CONFIG_NOT_FOUND', message: `${p}: no such file` });
  });
  test('a directory', async () => {
    const p = join(dir, 'folder');
    mkdirSync(p);
    expect(await failure(p)).toEqual({ code: 'CONFIG_IS_DIRECTORY', message: `${p} is a directory; pass a configuration file such as ${p}/service.dstack.yml` });
  });
  test('a 10 MB file', async () => {
    const p = file('big.yml', Buffer.alloc(10 * 1024 * 1024, 'a'));
    expect(await failure(p)).toEqual({ code: 'CONFIG_TOO_LARGE', message: `${p} is 10.0 MiB; configuration files are limited to 1 MiB` });
  });
  test('not UTF-8', async () => {
    const p = file('latin1.yml', Buffer.from([0x74, 0x79, 0x70, 0x65, 0x3a, 0x20, 0xe9, 0xff, 0x0a]));
    expect(await failure(p)).toEqual({ code: 'CONFIG_NOT_UTF8', message: `${p} is not UTF-8 text; save it as UTF-8` });
  });
  test('empty and comment-only files', async () => {
    for (const [name, text] of [['empty.yml', ''], ['comments.yml', '# nothing here\n\n']] as const) {
      const p = file(name, text);
      expect(await failure(p)).toEqual({ code: 'CONFIG_EMPTY', message: `${p} is empty; expected a configuration with \`type: service\` or \`type: fleet\`` });
    }
  });
  test('malformed YAML names its position', async () => {
    const p = file('bad.yml', 'type: service\nport: 8000\ncommands:\n  - a\n - b\n');
    const f = await failure(p);
    expect(f.code).toBe('CONFIG_YAML_INVALID');
    expect(f.message).toMatch(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5:\\d+: invalid YAML: `));
  });
  test('duplicate keys are a YAML error at the second key', async () => {
    const p = file('dup.yml', 'type: service\nport: 8000\nport: 9000\n');
    expect((await failure(p)).message).toBe(`${p}:3:1: invalid YAML: Map keys must be unique`);
  });
  test('a list at the top level', async () => {
    const p = file('list.yml', '- a\n- b\n');
    expect((await failure(p)).message).toBe(`${p}:1:1: expected a mapping of configuration keys at the top level, got a list`);
  });
  test('unsupported and unknown types', async () => {
    expect((await failure(file('task.yml', 'type: task\ncommands: [a]\n'))).message).toMatch(/task\.yml:1:7 type: `type: task` is a dstack configuration this tool does not run; only `service` and `fleet` are supported$/);
    expect((await failure(file('typo.yml', 'type: servise\n'))).message).toMatch(/typo\.yml:1:7 type: unknown configuration type `servise`; expected `service` or `fleet`; did you mean `service`\?$/);
    expect((await failure(file('notype.yml', 'port: 8000\n'))).message).toMatch(/notype\.yml:1:1: missing `type`; expected `type: service` or `type: fleet`/);
  });
});

describe('problems', () => {
  test('every problem at once, each at its own line and column', async () => {
    const p = file('many.yml', [
      'type: service',
      'name: Bad_Name',
      'port: 8000',
      'commands: [python app.py]',
      'replica: 2',
      'resources:',
      '  gpu: {name: A100, cnt: 2}',
      '  memory: lots',
      'env:',
      '  - OK=1',
      '  - OK=2',
      'probes:',
      '  - url: health',
      '    method: fetch',
      '',
    ].join('\n'));
    const e = (await loadConfigFile(p).catch((err: unknown) => err)) as ConfigError;
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.problems.map((x) => `${x.line}:${x.col} ${x.path}: ${x.message}`)).toEqual([
      '2:7 name: must start with a lowercase letter and contain only lowercase letters, digits and `-` (2..41 characters)',
      '5:1 replica: unknown field `replica`; did you mean `replicas`?',
      '7:21 resources.gpu.cnt: unknown field `cnt`; did you mean `count`?',
      '8:11 resources.memory: invalid size `lots`; expected a number with MB, GB or TB (e.g. `8GB`)',
      '11:5 env[1]: duplicate environment variable `OK`',
      '13:10 probes[0].url: must start with `/`',
      '14:13 probes[0].method: expected one of `get`, `post`, `put`, `delete`, `patch`, `head`, got `fetch`; did you mean `patch`?',
    ]);
    expect(e.problems.every((x) => x.file === p)).toBe(true);
    expect(e.message.split('\n')[0]).toBe(`${p}:2:7 name: must start with a lowercase letter and contain only lowercase letters, digits and \`-\` (2..41 characters)`);
  });

  test('a missing required key points at the document, a missing nested key at its parent', async () => {
    const p = file('missing.yml', 'type: service\ncommands: [a]\nregistry_auth:\n  username: u\n');
    const e = (await loadConfigFile(p).catch((err: unknown) => err)) as ConfigError;
    expect(e.message).toBe(`${p}:1:1 port: \`port\` is required\n${p}:4:3 registry_auth.password: \`password\` is required`);
  });

  test('parseConfigObject (daemon) reports dotted paths without positions', () => {
    expect(() => parseConfigObject({ type: 'service', port: 8000, commands: ['a'], probes: [{ url: 'x' }] })).toThrow(
      '<config> probes[0].url: must start with `/`',
    );
    const c = parseConfigObject({ type: 'service', port: '8080:8000', image: 'nginx' });
    expect(c).toMatchObject({ type: 'service', port: { local_port: 8080, container_port: 8000 }, commands: [] });
  });
});
