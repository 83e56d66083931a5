/**
 * ps, stop, logs and offer as oclif runs them, with fake stdout/stderr, against a control-API server on port 0.
 */
import { Config } from '@oclif/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Command } from '@oclif/core';
import Logs from '../../../src/commands/logs.js';
import Offer from '../../../src/commands/offer.js';
import Ps from '../../../src/commands/ps.js';
import Stop from '../../../src/commands/stop.js';
import Init from '../../../src/commands/init.js';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFakeDaemon, type FakeDaemon } from './fake-daemon.js';
import { offer, replica, run } from './fixtures.js';
import { runCommand } from './run-command.js';

let config: Config;
let daemon: FakeDaemon | undefined;
beforeAll(async () => {
  config = await Config.load({ root: process.cwd(), pjson: { name: 'dstack', version: '0.0.0', oclif: { bin: 'dstack' } } });
});
afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
});

const runCmd = (Cmd: Command.Class, argv: string[], env: NodeJS.ProcessEnv) => runCommand(config, Cmd, argv, { env });

const envOf = (d: FakeDaemon) => ({ DSTACK_HOME: d.home, NO_COLOR: '1' });

describe('dstack ps', () => {
  it('prints the runs table, and {runs} with --json', async () => {
    daemon = await startFakeDaemon({ runs: [run({ submittedAt: Date.now() - 11 * 60_000 })] });
    const table = await runCmd(Ps, [], envOf(daemon));
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+BACKEND\s+GPU\s+PRICE\s+STATUS\s+SUBMITTED\nhttp-server-service\s+local\s+-\s+\$0\s+running\s+11 mins ago\n$/);
    const json = await runCmd(Ps, ['--json', '-a'], envOf(daemon));
    expect(JSON.parse(json.stdout).runs[0].name).toBe('http-server-service');
    expect(daemon.state.requests.map((r) => r.url)).toEqual(['/api/health', '/api/runs', '/api/health', '/api/runs?all=1']);
  });

  it('-w without a terminal fails and says why', async () => {
    daemon = await startFakeDaemon();
    const r = await runCmd(Ps, ['-w'], envOf(daemon));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('-w needs a terminal');
  });

  it('-n keeps the last N runs', async () => {
    daemon = await startFakeDaemon({ runs: [run({ name: 'a', submittedAt: 1 }), run({ name: 'c', submittedAt: 3 }), run({ name: 'b', submittedAt: 2 })] });
    const r = await runCmd(Ps, ['-n', '2', '--json'], envOf(daemon));
    expect(JSON.parse(r.stdout).runs.map((x: { name: string }) => x.name)).toEqual(['b', 'c']);
  });
});

describe('dstack stop', () => {
  it('stops after -y, waits for terminated, prints Stopped', async () => {
    const r0 = run();
    daemon = await startFakeDaemon({ runs: [r0], events: [run({ status: 'terminating' }), run({ status: 'terminated', replicas: [replica({ status: 'terminated' })] })] });
    const r = await runCmd(Stop, [r0.name, '-y'], envOf(daemon));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('Stopped\n');
    expect(daemon.state.requests.find((q) => q.url.endsWith('/stop'))?.body).toEqual({ abort: false });
  });

  it('without -y and without a terminal fails naming -y; an unknown run is RUN_NOT_FOUND with the hint', async () => {
    daemon = await startFakeDaemon({ runs: [run()] });
    const noTty = await runCmd(Stop, ['http-server-service'], envOf(daemon));
    expect(noTty.code).toBe(1);
    expect(noTty.stderr).toContain('-y/--yes');
    expect(daemon.state.requests.some((q) => q.url.endsWith('/stop'))).toBe(false);
    const missing = await runCmd(Stop, ['nope', '-y'], envOf(daemon));
    expect(missing.stderr).toBe('Error: Run nope not found\nHint: See `dstack ps -a`.\n');
  });
});

describe('dstack logs', () => {
  it('writes the bytes as they come and passes replica, follow and since', async () => {
    const bytes = Buffer.from('line 1\n\x1b[32mgreen\x1b[0m caf\xc3\xa9\n', 'latin1');
    daemon = await startFakeDaemon({ runs: [run()], logs: bytes });
    const r = await runCmd(Logs, ['http-server-service', '--replica', '1', '--since', '2025-01-01T00:00:00Z'], envOf(daemon));
    expect(r.code, r.stderr).toBe(0);
    expect(Buffer.from(r.stdout)).toEqual(Buffer.from(bytes.toString('utf8')));
    expect(daemon.state.requests.at(-1)?.url).toBe(`/api/runs/http-server-service/logs?replica=1&since=${Date.parse('2025-01-01T00:00:00Z') / 1000}`);
  });
});

describe('dstack offer and init', () => {
  it('lists offers, passing the filters', async () => {
    daemon = await startFakeDaemon({ offers: [offer()] });
    const r = await runCmd(Offer, ['--gpu', '24GB..'], envOf(daemon));
    expect(r.stdout).toContain('1  local (docker)  cpu=x86:2 mem=24GB disk=100GB  local          $0     idle');
    expect(daemon.state.requests.at(-1)?.url).toBe('/api/offers?gpu=24GB..');
  });

  it('init records the repo once and says what it did', async () => {
    const home = await mkdtemp(path.join(tmpdir(), 'dstack-init-'));
    try {
      const first = await runCmd(Init, [], { DSTACK_HOME: home });
      expect(first.stdout).toBe('OK\n');
      expect(first.stderr).toContain('Recorded repo');
      const again = await runCmd(Init, [], { DSTACK_HOME: home });
      expect(again.stdout).toBe('OK\n');
      expect(again.stderr).toContain('Already recorded repo');
      const file = JSON.parse(await readFile(path.join(home, 'repos.json'), 'utf8')) as { repos: unknown[] };
      expect(file.repos).toHaveLength(1);
      expect((await stat(path.join(home, 'repos.json'))).mode & 0o777).toBe(0o600);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
