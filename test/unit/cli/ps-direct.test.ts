/**
 * `dstack ps` answered in main.ts without oclif: for every command line it takes, it prints what the oclif command
 * prints, byte for byte, asking the daemon the same question; anything unusual, and any failure, is left to oclif.
 */
import { Config } from '@oclif/core';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Ps from '../../../src/commands/ps.js';
import { parseDirectPsArgv, psWithoutOclif } from '../../../src/commands/ps-direct.js';
import { fakeOut } from '../ui/fake-streams.js';
import { startFakeDaemon, type FakeDaemon } from './fake-daemon.js';
import { replica, run } from './fixtures.js';
import { runCommand } from './run-command.js';

let config: Config;
let daemon: FakeDaemon;
beforeAll(async () => {
  config = await Config.load({ root: process.cwd(), pjson: { name: 'dstack', version: '0.0.0', oclif: { bin: 'dstack' } } });
  daemon = await startFakeDaemon({
    runs: [
      run(),
      run({ name: 'two-replicas', status: 'provisioning', desiredReplicas: 2, replicas: [replica(), replica({ num: 1, status: 'provisioning', ready: false })] }),
      run({ name: 'done', status: 'done', replicas: [replica({ status: 'done', ready: false })] }),
    ],
  });
});
afterAll(() => daemon.close());

async function direct(argv: string[], env: NodeJS.ProcessEnv, columns = 100) {
  const out = fakeOut({ columns });
  const code = await psWithoutOclif(argv, { stdout: out, env });
  return { code, stdout: out.text(), stderr: '' };
}

describe('the direct path prints what the oclif command prints', () => {
  const lines = [[], ['--json'], ['-a'], ['--all', '--json'], ['-v'], ['--verbose', '-a']];
  for (const argv of lines) {
    it(`ps ${argv.join(' ')}`, async () => {
      const env = { DSTACK_HOME: daemon.home, NO_COLOR: '1' };
      const expected = await runCommand(config, Ps, argv, { env, columns: 100 });
      const asked = daemon.state.requests.at(-1)?.url;
      expect(expected.code).toBe(0);
      expect(expected.stdout).toContain('done');
      expect(await direct(argv, env)).toEqual(expected);
      expect(daemon.state.requests.at(-1)?.url).toBe(asked);
    });
  }

  it('ps in a narrow window (the table is cut to its width)', async () => {
    const env = { DSTACK_HOME: daemon.home, NO_COLOR: '1' };
    const expected = await runCommand(config, Ps, [], { env, columns: 40 });
    expect(await direct([], env, 40)).toEqual(expected);
  });
});

describe('command lines left to oclif', () => {
  for (const argv of [['-w'], ['-n', '2'], ['-n2'], ['--help'], ['-av'], ['--json', '--json'], ['-a', '--all'], ['--bogus'], ['x']]) {
    it(`ps ${argv.join(' ')}`, async () => {
      expect(parseDirectPsArgv(argv)).toBeUndefined();
      expect(await direct(argv, { DSTACK_HOME: daemon.home })).toEqual({ code: undefined, stdout: '', stderr: '' });
    });
  }
});

describe('a failure is left to oclif, before anything is printed', () => {
  let server: Server;
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'dstack-ps-direct-'));
    server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/api/health') return res.end(JSON.stringify({ version: 't', pid: 1, uptimeSeconds: 0, home }));
      res.statusCode = 401;
      res.end(JSON.stringify({ code: 'UNAUTHORIZED', message: 'Bad token' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    await mkdir(join(home, 'server'), { recursive: true });
    await writeFile(join(home, 'server/daemon.json'), JSON.stringify({ pid: process.pid, port: (server.address() as AddressInfo).port, host: '127.0.0.1' }));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('ps --json against a daemon that refuses the token', async () => {
    const env = { DSTACK_HOME: home, NO_COLOR: '1' };
    expect(await direct(['--json'], env)).toEqual({ code: undefined, stdout: '', stderr: '' });
    const viaOclif = await runCommand(config, Ps, ['--json'], { env });
    expect(viaOclif.code).toBe(1);
    expect(JSON.parse(viaOclif.stdout)).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
  });
});
