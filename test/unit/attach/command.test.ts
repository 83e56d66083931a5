// `dstack attach` as oclif runs it (fake streams) against a small control-API server of our own on port 0: flags as
// dstack spells them, errors naming the flag, the banner with the forwarded ports, and the end when the run ends.
import { Config } from '@oclif/core';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import Attach from '../../../src/commands/attach.js';
import type { AttachInfo } from '../../../src/core/attach/api.js';
import { runCommand } from '../cli/run-command.js';

let config: Config;
let stopDaemon: (() => Promise<void>) | undefined;
beforeAll(async () => {
  config = await Config.load({ root: process.cwd(), pjson: { name: 'dstack', version: '0.0.0', oclif: { bin: 'dstack' } } });
});
afterEach(async () => {
  await stopDaemon?.();
  stopDaemon = undefined;
});

/** Answers attach info from `infos` in turn (the last one repeats) and a few log bytes; records the URLs asked. */
async function daemon(infos: (AttachInfo | { status: number; body: unknown })[]): Promise<{ env: NodeJS.ProcessEnv; urls: string[] }> {
  const home = await mkdtemp(join(tmpdir(), 'dstack-attach-cmd-'));
  const urls: string[] = [];
  let i = 0;
  const json = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const server: Server = createServer((req, res) => {
    urls.push(req.url ?? '');
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/api/health') return json(res, 200, { version: 'fake', pid: process.pid, uptimeSeconds: 1, home });
    if (path.endsWith('/attach')) {
      const next = infos[Math.min(i++, infos.length - 1)]!;
      return 'status' in next && typeof next.status === 'number' ? json(res, next.status, next.body) : json(res, 200, next);
    }
    if (path.endsWith('/logs')) return res.writeHead(200, { 'content-type': 'text/plain' }).end('listening on 8000\n');
    json(res, 404, { code: 'NOT_FOUND', message: path });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  await mkdir(join(home, 'server'), { recursive: true });
  await writeFile(join(home, 'server/daemon.json'), JSON.stringify({ pid: process.pid, port: (server.address() as AddressInfo).port, host: '127.0.0.1' }));
  stopDaemon = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await rm(home, { recursive: true, force: true });
  };
  return { env: { DSTACK_HOME: home, NO_COLOR: '1' }, urls };
}

const running = (runStatus: AttachInfo['runStatus'] = 'running'): AttachInfo => ({
  run: 'web',
  runStatus,
  servicePort: 8000,
  replica: { num: 1, submission: 0, status: 'running', instance: 'local' },
});

describe('dstack attach', () => {
  it('takes repeated -p before the run name, lists the forwarded ports, prints the logs and ends with the run', async () => {
    const d = await daemon([running(), running(), running('done')]);
    const r = await runCommand(config, Attach, ['-p', '*:8000', '-p', '*:9001', 'web', '--replica', '1', '--logs'], { env: d.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('listening on 8000\n');
    expect(r.stderr).toMatch(/^Attached to run web \(replica=1\)\nForwarded ports \(local -> remote\):\n {2}- http:\/\/127\.0\.0\.1:\d+ -> 8000\n {2}- http:\/\/127\.0\.0\.1:\d+ -> 9001\nPress Ctrl\+C to detach\.\.\.\nRun web is done\n$/);
    expect(d.urls).toContain('/api/runs/web/attach?replica=1');
    expect(d.urls).toContain('/api/runs/web/logs?replica=1&follow=1');
  });

  it('exits 1 when the run ends other than done, as dstack does', async () => {
    const d = await daemon([running(), running('terminated')]);
    const r = await runCommand(config, Attach, ['web', '-p', '*:8000'], { env: d.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Run web is terminated');
  });

  it('a bad -p is refused naming the flag, before the daemon is asked', async () => {
    const d = await daemon([running()]);
    const r = await runCommand(config, Attach, ['web', '-p', '80:abc'], { env: d.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('-p/--port "80:abc" is not a port mapping');
    expect(r.stderr).toContain('LOCAL:REMOTE');
    expect(d.urls).toEqual([]);
  });

  it('--replica takes a non-negative number (usage error otherwise)', async () => {
    const d = await daemon([running()]);
    const r = await runCommand(config, Attach, ['web', '--replica', '-1'], { env: d.env });
    expect(r.code).toBe(2);
  });

  it("an unknown run or replica is the daemon's error, with its hint", async () => {
    const d = await daemon([{ status: 404, body: { code: 'REPLICA_NOT_FOUND', message: 'Run web has no replica 7', hint: 'Its replicas: 0, 1.' } }]);
    const r = await runCommand(config, Attach, ['web', '--replica', '7'], { env: d.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Run web has no replica 7');
    expect(r.stderr).toContain('Its replicas: 0, 1.');
  });

  it('a finished run is refused with its status', async () => {
    const d = await daemon([running('failed')]);
    const r = await runCommand(config, Attach, ['web'], { env: d.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Run web is failed');
  });
});
