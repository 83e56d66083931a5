/**
 * Secrets over the control API of a real daemon (no Docker needed): set/list/get/delete through the typed client
 * and raw HTTP, the 0600 file, and the `dstack secret` commands run as oclif runs them against that daemon. The
 * value appears in no answer but `get`'s, in no command output but `secret get`'s, and never in the daemon log.
 */
import { Config } from '@oclif/core';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import SecretDelete from '../../../src/commands/secret-delete.js';
import SecretGet from '../../../src/commands/secret-get.js';
import SecretList from '../../../src/commands/secret-list.js';
import SecretSet from '../../../src/commands/secret-set.js';
import Secret from '../../../src/commands/secret.js';
import { DaemonClient } from '../../../src/core/client/daemon-client.js';
import { Transport } from '../../../src/core/client/transport.js';
import { DstackError } from '../../../src/core/errors.js';
import { runDaemon, type Daemon } from '../../../src/daemon/main.js';
import { runCommand } from '../../unit/cli/run-command.js';

const VALUE = 'sk-live-3f9a1c77e2b04d5d';
let home: string;
let daemon: Daemon;
let client: DaemonClient;
let token: string;
let config: Config;
const seen: string[] = [];

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'dstack-secrets-api-'));
  daemon = await runDaemon({ home, port: 0, exitOnCompromise: false, env: { ...process.env, DSTACK_AGENT_BIN: '/nonexistent' } });
  token = /^token:\s*(\S+)/m.exec(await readFile(join(home, 'config.yml'), 'utf8'))?.[1] ?? '';
  client = new DaemonClient(new Transport({ origin: daemon.url, token }), { version: 'test', pid: process.pid, uptimeSeconds: 0, home });
  config = await Config.load({ root: process.cwd(), pjson: { name: 'dstack', version: '0.0.0', oclif: { bin: 'dstack' } } });
});
afterAll(async () => {
  await client?.close();
  await daemon?.close();
  if (!process.env.DSTACK_TEST_KEEP) await rm(home, { recursive: true, force: true });
});

/** A raw request; every answer body is kept to check that no value leaked into it. */
async function call(method: 'GET' | 'PUT' | 'DELETE' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: { code?: string; message?: string } & Record<string, unknown> }> {
  const res = await request(`${daemon.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  seen.push(text);
  return { status: res.statusCode, body: text ? JSON.parse(text) : {} };
}

const cli = async (Cmd: typeof Secret | typeof SecretSet | typeof SecretGet | typeof SecretDelete, argv: string[], opts: { stdin?: string; stdinTTY?: boolean } = {}) =>
  runCommand(config, Cmd, argv, { env: { DSTACK_HOME: home, NO_COLOR: '1' }, ...opts, columns: 200 });

describe('the secrets control API', () => {
  it('sets, lists, gets and deletes; only get answers with the value', async () => {
    const created = await client.setSecret('hf_token', VALUE);
    expect(created).toMatchObject({ name: 'hf_token', created: true });
    expect(await client.setSecret('hf_token', VALUE)).toMatchObject({ created: false });
    expect(await client.listSecrets()).toEqual([{ name: 'hf_token', createdAt: created.createdAt, updatedAt: created.updatedAt }]);
    expect((await client.getSecret('hf_token')).value).toBe(VALUE);
    const list = await call('GET', '/api/secrets');
    expect(JSON.stringify(list.body)).not.toContain(VALUE);
    const put = await call('PUT', '/api/secrets/other', { value: VALUE });
    expect(put.status).toBe(200);
    expect(JSON.stringify(put.body)).not.toContain(VALUE);
    const del = await call('DELETE', '/api/secrets/other');
    expect([del.status, JSON.stringify(del.body).includes(VALUE)]).toEqual([200, false]);
    const again = await call('DELETE', '/api/secrets/other');
    expect([again.status, again.body.code]).toEqual([404, 'SECRET_NOT_FOUND']);
  });

  it('keeps them in DSTACK_HOME/server/secrets.json, mode 0600, and out of state.json', async () => {
    const file = join(home, 'server', 'secrets.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toContain(VALUE);
    const state = await readFile(join(home, 'server', 'state.json'), 'utf8').catch(() => '');
    expect(state).not.toContain(VALUE);
  });

  it('refuses bad names and bodies with 400 naming the problem, never echoing the value', async () => {
    const bad = await call('PUT', '/api/secrets/has.dot', { value: VALUE });
    expect([bad.status, bad.body.code]).toEqual([400, 'INVALID_SECRET_NAME']);
    const long = await call('PUT', '/api/secrets/long', { value: `${VALUE}${'x'.repeat(5000)}` });
    expect([long.status, long.body.code]).toEqual([400, 'SECRET_TOO_LONG']);
    const noValue = await call('PUT', '/api/secrets/x', { valeu: VALUE });
    expect([noValue.status, noValue.body.code]).toEqual([400, 'INVALID_REQUEST']);
    const notJson = await call('PUT', '/api/secrets/x', `{"value": "${VALUE}`);
    expect([notJson.status, notJson.body.code]).toEqual([400, 'INVALID_JSON']);
    expect(seen.join('\n')).not.toContain(VALUE.slice(3));
    await expect(client.getSecret('nope')).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND', status: 404 });
  });

  it('a run that references a missing secret is refused at plan time, naming it and where it is used', async () => {
    const r = await call('POST', '/api/runs/plan', { config: { type: 'service', name: 'svc', image: 'img', port: 80, env: ['A=1', 'B=${{ secrets.missing_one }}'] } });
    expect([r.status, r.body.code, r.body.message]).toEqual([400, 'SECRET_NOT_FOUND', 'Secret `missing_one` is not set (used in `env.B`)']);
    const apply = await call('POST', '/api/runs/apply', { config: { type: 'service', name: 'svc', image: 'img', port: 80, registry_auth: { username: 'u', password: '${{ secrets.nope }}' } } });
    expect([apply.status, apply.body.message]).toEqual([400, 'Secret `nope` is not set (used in `registry_auth.password`)']);
  });
});

describe('dstack secret commands against the daemon', () => {
  it('set takes the value from an argument, a file (one trailing newline dropped) or a pipe, and never prints it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dstack-secret-file-'));
    await writeFile(join(dir, 'value'), `${VALUE}-file\n`);
    const outs = [
      await cli(SecretSet, ['from_arg', `${VALUE}-arg`]),
      await cli(SecretSet, ['from_file', '-f', join(dir, 'value')]),
      await cli(SecretSet, ['from_pipe'], { stdin: `${VALUE}-pipe\n` }),
    ];
    for (const o of outs) expect(o).toMatchObject({ code: 0, stdout: 'OK\n' });
    expect(outs.map((o) => o.stderr)).toEqual(['Secret from_arg created\n', 'Secret from_file created\n', 'Secret from_pipe created\n']);
    const values = (await Promise.all(['from_arg', 'from_file', 'from_pipe'].map((n) => client.getSecret(n)))).map((s) => s.value);
    expect(values).toEqual([`${VALUE}-arg`, `${VALUE}-file`, `${VALUE}-pipe`]);
    await rm(dir, { recursive: true, force: true });
  });

  it('set at a terminal prompts without echoing what is typed', async () => {
    const r = await cli(SecretSet, ['typed'], { stdin: `${VALUE}-typed\r`, stdinTTY: true });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Enter the value of the secret typed (not shown): ');
    expect(r.stderr + r.stdout).not.toContain(VALUE);
    expect((await client.getSecret('typed')).value).toBe(`${VALUE}-typed`);
  });

  it('set refuses an empty pipe, a value given twice, a split value and a bad name, quoting no value', async () => {
    const empty = await cli(SecretSet, ['x'], { stdin: '' });
    expect([empty.code, empty.stderr]).toEqual([1, expect.stringContaining('no value was read from standard input')]);
    const twice = await cli(SecretSet, ['x', VALUE, '-f', '/etc/hostname']);
    expect(twice.stderr).toContain('either as an argument or with -f');
    const split = await cli(SecretSet, ['x', 'first-part', `${VALUE}-rest`]);
    expect([split.code, split.stderr]).toEqual([1, expect.stringContaining('more than one value was given')]);
    const unreferenceable = await cli(SecretSet, ['my-key', VALUE]);
    expect([unreferenceable.code, unreferenceable.stderr]).toEqual([0, expect.stringContaining('`${{ secrets.my-key }}` is not a valid reference')]);
    const name = await cli(SecretSet, ['bad.name', VALUE]);
    expect(name.stderr).toContain('invalid secret name');
    for (const r of [empty, twice, split, unreferenceable, name]) expect(r.stderr + r.stdout).not.toContain(VALUE);
  });

  it('list and list --json show names and dates only; get shows the value; delete asks unless -y', async () => {
    const table = await cli(Secret, []);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+CREATED\s+UPDATED$/);
    expect(table.stdout).toContain('from_pipe');
    const json = await cli(SecretList, ['--json']);
    const listed = JSON.parse(json.stdout) as { secrets: { name: string }[] };
    expect(listed.secrets.map((s) => s.name)).toEqual(expect.arrayContaining(['from_arg', 'from_file', 'hf_token']));
    expect(table.stdout + json.stdout).not.toContain(VALUE);
    const get = await cli(SecretGet, ['from_arg']);
    expect(get.stdout).toMatch(new RegExp(`^NAME\\s+VALUE\\nfrom_arg\\s+${VALUE}-arg\\n$`));
    expect(JSON.parse((await cli(SecretGet, ['from_arg', '--json'])).stdout)).toMatchObject({ name: 'from_arg', value: `${VALUE}-arg` });
    const noTty = await cli(SecretDelete, ['from_arg']);
    expect([noTty.code, noTty.stderr]).toEqual([1, expect.stringContaining('Pass -y/--yes')]);
    expect(await cli(SecretDelete, ['from_arg', '-y'])).toMatchObject({ code: 0, stdout: 'OK\n' });
    const gone = await cli(SecretDelete, ['from_arg', '-y']);
    expect([gone.code, gone.stderr]).toEqual([1, expect.stringContaining('Secret from_arg not found')]);
    await expect(client.getSecret('from_arg')).rejects.toBeInstanceOf(DstackError);
  });

  it('the daemon log never holds a value', async () => {
    const log = await readFile(join(home, 'server', 'logs', 'daemon.log'), 'utf8');
    expect(log.length).toBeGreaterThan(0);
    expect(log).not.toContain(VALUE);
  });
});
