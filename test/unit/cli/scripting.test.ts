/**
 * What scripts rely on, through oclif with injected streams: `--json` errors on stdout with the usual exit codes,
 * and `-f -` reading the configuration from standard input (named `<stdin>` in errors). The built binary is
 * covered the same way in test/e2e/scripting.test.ts.
 */
import { Config, type Command } from '@oclif/core';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import Apply from '../../../src/commands/apply.js';
import Logs from '../../../src/commands/logs.js';
import Offer from '../../../src/commands/offer.js';
import Ps from '../../../src/commands/ps.js';
import Stop from '../../../src/commands/stop.js';
import Validate from '../../../src/commands/validate.js';
import { startFakeDaemon, type FakeDaemon } from './fake-daemon.js';
import { fleetPlan, fleetView, startFleetDaemon, type FleetDaemon } from './fleet-fixtures.js';
import { plan, run } from './fixtures.js';
import { runCommand, type RunCommandOptions } from './run-command.js';

let config: Config;
let daemon: FakeDaemon | FleetDaemon | undefined;
beforeAll(async () => {
  config = await Config.load({ root: process.cwd(), pjson: { name: 'dstack', version: '0.0.0', oclif: { bin: 'dstack' } } });
});
afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
});

const runCmd = (Cmd: Command.Class, argv: string[], opts: RunCommandOptions = {}) =>
  runCommand(config, Cmd, argv, { ...opts, env: { NO_COLOR: '1', ...opts.env } });

const jsonError = (stdout: string) => (JSON.parse(stdout) as { error: { code: string; message: string; hint?: string; problems?: unknown[] } }).error;
const BAD_SERVICE = 'type: service\nport: "*:8000"\ncommands:\n  - python3 -m http.server\n';

describe('--json errors', () => {
  it('stop --json on an unknown run: the daemon\'s error as JSON on stdout, the banner on stderr, exit 1', async () => {
    daemon = await startFakeDaemon();
    const r = await runCmd(Stop, ['nope', '-y', '--json'], { env: { DSTACK_HOME: daemon.home } });
    expect(r.code).toBe(1);
    expect(jsonError(r.stdout)).toEqual({ code: 'RUN_NOT_FOUND', message: 'Run nope not found', hint: 'See `dstack ps -a`.' });
    expect(r.stderr).toContain('Error: Run nope not found');
  });

  it('stop --json prints the stopped run', async () => {
    const r0 = run();
    daemon = await startFakeDaemon({ runs: [r0], events: [run({ status: 'terminated', replicas: [] })] });
    const r = await runCmd(Stop, [r0.name, '-y', '--json'], { env: { DSTACK_HOME: daemon.home } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: r0.name });
  });

  it('ps --json with a user error answers JSON and exits 1; without --json stdout stays empty', async () => {
    const r = await runCmd(Ps, ['-w', '--json']);
    expect(r.code).toBe(1);
    expect(jsonError(r.stdout).code).toBe('WATCH_NEEDS_TTY');
    const plain = await runCmd(Ps, ['-w']);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toBe('');
  });

  it('usage errors answer JSON with code USAGE and exit 2: a bad flag value, an unknown flag, a missing flag', async () => {
    const bad = await runCmd(Offer, ['--json', '--max-offers', '0']);
    expect(bad.code).toBe(2);
    expect(jsonError(bad.stdout)).toMatchObject({ code: 'USAGE', message: expect.stringContaining('--max-offers'), hint: expect.stringContaining('--help') });
    expect(bad.stderr).not.toContain('--verbose');
    const unknown = await runCmd(Ps, ['--json', '--nope']);
    expect(unknown.code).toBe(2);
    expect(jsonError(unknown.stdout)).toMatchObject({ code: 'USAGE', message: 'Unknown flag: --nope' });
    const missing = await runCmd(Validate, ['--json']);
    expect(missing.code).toBe(2);
    expect(jsonError(missing.stdout).message).toContain('Missing required flag file');
  });

  it('a --json after `--`, or on a command without --json, is not JSON mode', async () => {
    const logs = await runCmd(Logs, ['x', '--json']);
    expect(logs.code).toBe(2);
    expect(logs.stdout).toBe('');
    expect(logs.stderr).toContain('Unknown flag: --json');
  });

  it('apply --json with a missing file: CONFIG_NOT_FOUND as JSON, exit 1', async () => {
    const r = await runCmd(Apply, ['-f', 'no-such.dstack.yml', '-y', '--json']);
    expect(r.code).toBe(1);
    expect(jsonError(r.stdout)).toEqual({ code: 'CONFIG_NOT_FOUND', message: 'no-such.dstack.yml: no such file' });
  });
});

describe('-f - reads standard input', () => {
  it('validate -f - prints the normalized configuration under <stdin>', async () => {
    const r = await runCmd(Validate, ['-f', '-', '--json'], { stdin: 'type: service\nport: 8000\ncommands: [python3 -m http.server]\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ configs: [{ path: '<stdin>', kind: 'service', config: { port: { container_port: 8000 } } }] });
    expect(r.stderr).toBe('');
  });

  it('validate -f - --json with a bad document names <stdin>:line:col, in JSON and on stderr', async () => {
    const r = await runCmd(Validate, ['-f', '-', '--json'], { stdin: BAD_SERVICE });
    expect(r.code).toBe(1);
    const error = jsonError(r.stdout);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/^<stdin>:2:7 port: /);
    expect(error.problems).toEqual([expect.objectContaining({ file: '<stdin>', line: 2, col: 7, path: 'port' })]);
    expect(r.stderr).toMatch(/^<stdin>:2:7 port: /);
  });

  it('says it is reading when standard input is a terminal', async () => {
    const r = await runCmd(Validate, ['-f', '-'], { stdin: 'type: service\nport: 8000\nimage: nginx\n', stdinTTY: true });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('Reading the configuration from standard input (end it with Ctrl+D)...\n');
  });

  it('an empty standard input is an empty configuration, and -f - twice is refused', async () => {
    const empty = await runCmd(Validate, ['-f', '-'], { stdin: '' });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('<stdin> is empty');
    const twice = await runCmd(Validate, ['-f', '-', '-f', '-', '--json'], { stdin: BAD_SERVICE });
    expect(twice.code).toBe(1);
    expect(jsonError(twice.stdout).code).toBe('CONFIG_STDIN_TWICE');
  });

  it('standard input over the 1 MiB limit is refused like a file that large', async () => {
    const r = await runCmd(Validate, ['-f', '-', '--json'], { stdin: `# ${'x'.repeat(1024 * 1024)}\n` });
    expect(r.code).toBe(1);
    expect(jsonError(r.stdout)).toMatchObject({ code: 'CONFIG_TOO_LARGE', message: expect.stringMatching(/^<stdin> is 1\.0 MiB; configuration files are limited to 1 MiB$/) });
  });

  it('apply -f - sends the configuration from standard input, without a configuration path', async () => {
    daemon = await startFakeDaemon({ plan: plan(), runs: [run()] });
    const r = await runCmd(Apply, ['-f', '-', '-y', '-d', '--no-repo', '--json'], { env: { DSTACK_HOME: daemon.home }, stdin: 'type: service\nname: from-stdin\nport: 8000\nimage: nginx\n' });
    expect(r.code, r.stderr).toBe(0);
    const sent = daemon.state.requests.filter((q) => q.url === '/api/runs/plan' || q.url === '/api/runs/apply');
    expect(sent.map((q) => q.url)).toEqual(['/api/runs/plan', '/api/runs/apply']);
    for (const q of sent) {
      expect(q.body).toMatchObject({ config: { name: 'from-stdin', image: 'nginx' } });
      expect(q.body).not.toHaveProperty('configPath');
    }
    expect(r.stderr).toContain('Configuration');
    expect(r.stderr).toContain('<stdin>');
  });

  it('apply -f - with a fleet: key paths resolved here, no configuration path sent, errors name <stdin>', async () => {
    const keys = await mkdtemp(join(tmpdir(), 'dstack-stdin-keys-'));
    await writeFile(join(keys, 'id_test'), 'not a real key');
    const fleet = (key: string) => `type: fleet\nname: my-fleet\nssh_config:\n  user: root\n  identity_file: ${key}\n  hosts: [10.77.0.11]\n`;
    daemon = await startFleetDaemon({ plan: fleetPlan(), applied: fleetView({ status: 'submitted' }) });
    const env = { DSTACK_HOME: daemon.home, HOME: keys };
    const r = await runCmd(Apply, ['-f', '-', '-y', '-d'], { env, stdin: fleet('~/id_test') });
    expect(r.code, r.stderr).toBe(0);
    const sent = daemon.state.requests.filter((q) => q.url === '/api/fleets/plan' || q.url === '/api/fleets/apply');
    expect(sent).toHaveLength(2);
    for (const q of sent) {
      expect(q.body).toMatchObject({ config: { ssh_config: { identity_file: join(keys, 'id_test') } } });
      expect(q.body).not.toHaveProperty('configPath');
    }
    const unreadable = await runCmd(Apply, ['-f', '-', '-y', '-d', '--json'], { env, stdin: fleet('~/missing_key') });
    expect(unreadable.code).toBe(1);
    expect(jsonError(unreadable.stdout)).toMatchObject({ code: 'IDENTITY_FILE_UNREADABLE', message: expect.stringMatching(/^<stdin>: ssh_config\.identity_file: cannot read ~\/missing_key/) });
    await rm(keys, { recursive: true, force: true });
  });
});
