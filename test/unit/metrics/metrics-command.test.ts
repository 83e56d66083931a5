/**
 * `dstack metrics` through oclif with injected streams, against a control-API server of its own on port 0 (a fake
 * at the CLI↔daemon boundary, serving canned RunMetrics). The agent and daemon sides are covered by
 * test/integration/agent/agent-metrics.test.ts, the whole path by test/e2e/metrics.test.ts.
 */
import { Config } from '@oclif/core';
import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Metrics from '../../../src/commands/metrics.js';
import type { RunMetrics } from '../../../src/core/api.js';
import { runCommand } from '../cli/run-command.js';

const GB = 1024 ** 3;
const RUNS: Record<string, RunMetrics> = {
  web: {
    run: 'web',
    project: 'main',
    status: 'running',
    replicas: [{ num: 0, submission: 0, status: 'running', metrics: { id: 'web-0-0', runtime: 'docker', timestamp: 1, cpu: { percent: 91.5, cores: 1 }, memory: { usedBytes: 1.5 * GB, limitBytes: 8 * GB }, gpus: [] } }],
  },
  starting: { run: 'starting', project: 'main', status: 'provisioning', replicas: [{ num: 0, submission: 0, status: 'pulling' }] },
};

let config: Config;
let server: Server;
let home: string;
const requests: string[] = [];

beforeAll(async () => {
  config = await Config.load({ root: process.cwd(), pjson: { name: 'dstack', version: '0.0.0', oclif: { bin: 'dstack' } } });
  home = await mkdtemp(join(tmpdir(), 'dstack-metrics-cmd-'));
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/api/health') return send(200, { version: 'fake', pid: process.pid, uptimeSeconds: 1, home });
    const m = /^\/api\/runs\/([^/]+)\/metrics$/.exec(req.url ?? '');
    const found = m ? RUNS[decodeURIComponent(m[1]!)] : undefined;
    if (found) return send(200, found);
    send(404, { code: 'RUN_NOT_FOUND', message: `Run ${m?.[1]} not found`, hint: 'See `dstack ps -a` for runs.' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await mkdir(join(home, 'server'), { recursive: true });
  await writeFile(join(home, 'server/daemon.json'), JSON.stringify({ pid: process.pid, port: (server.address() as AddressInfo).port, host: '127.0.0.1' }));
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await rm(home, { recursive: true, force: true });
});

const metrics = (argv: string[]) => runCommand(config, Metrics, argv, { env: { DSTACK_HOME: home, NO_COLOR: '1' } });
const jsonError = (stdout: string) => (JSON.parse(stdout) as { error: { code: string; message: string } }).error;

describe('dstack metrics', () => {
  it('prints the table of the run', async () => {
    const r = await metrics(['web']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual(['NAME  STATUS   CPU  MEMORY     GPU', 'web   running  92%  1.5GB/8GB  -', '']);
  });

  it('prints RunMetrics with --json', async () => {
    const r = await metrics(['web', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(RUNS.web);
  });

  it('names an unknown run, in text and in JSON', async () => {
    const text = await metrics(['nope']);
    expect(text.code).toBe(1);
    expect(text.stderr).toContain('Run nope not found');
    const json = await metrics(['nope', '--json']);
    expect(json.code).toBe(1);
    expect(jsonError(json.stdout)).toMatchObject({ code: 'RUN_NOT_FOUND', message: 'Run nope not found' });
  });

  it('says so when no replica of the run is running yet', async () => {
    const r = await metrics(['starting']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Run starting has no running replica (it is provisioning)');
    expect(jsonError((await metrics(['starting', '--json'])).stdout).code).toBe('NO_RUNNING_REPLICA');
  });

  it('refuses -w without a terminal, or with --json, as `ps -w` does, before asking the daemon', async () => {
    const before = requests.length;
    const plain = await metrics(['web', '-w']);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('-w needs a terminal');
    expect(jsonError((await metrics(['web', '-w', '--json'])).stdout).code).toBe('WATCH_NEEDS_TTY');
    expect(requests.slice(before).filter((u) => u.includes('/metrics'))).toEqual([]);
  });
});
