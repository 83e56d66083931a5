/**
 * The daemon process itself: one per home, daemon.json, config.yml on first use, admin token on /api,
 * a corrupt state file reported once with its backup, never a crash loop.
 */
import { readFile, stat, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runDaemon, type Daemon } from '../../../src/daemon/main.js';
import { DstackError } from '../../../src/core/errors.js';
import { Api, removeDir, tempDir } from './harness.js';

describe('dstack server daemon', () => {
  const open: Daemon[] = [];
  const dirs: string[] = [];
  const start = async (home: string) => {
    const d = await runDaemon({ home, port: 0, exitOnCompromise: false, env: { ...process.env, DSTACK_AGENT_BIN: '/nonexistent' } });
    open.push(d);
    return d;
  };
  const home = async () => {
    const d = await tempDir('dstack-daemon-');
    dirs.push(d);
    return d;
  };
  afterEach(async () => {
    for (const d of open.splice(0)) await d.close();
    for (const d of dirs.splice(0)) await removeDir(d);
  });
  const tokenOf = async (h: string) => /^token:\s*(\S+)/m.exec(await readFile(join(h, 'config.yml'), 'utf8'))?.[1] ?? '';

  it('creates config.yml (0600) and writes daemon.json (0600) with the real port; removes it on close', async () => {
    const h = await home();
    const d = await start(h);
    expect((await stat(join(h, 'config.yml'))).mode & 0o777).toBe(0o600);
    const file = join(h, 'server', 'daemon.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const info = JSON.parse(await readFile(file, 'utf8'));
    expect(info).toMatchObject({ pid: process.pid, port: d.port, host: '127.0.0.1', version: '0.1.0' });
    await d.close();
    await expect(stat(file)).rejects.toThrow();
  });

  it('a second daemon on the same home fails with DAEMON_RUNNING naming pid and port', async () => {
    const h = await home();
    const first = await start(h);
    // The running daemon is this process, so the check must rely on the lock, not on the pid being someone else.
    const err = await runDaemon({ home: h, port: 0, exitOnCompromise: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DstackError);
    expect((err as DstackError).code).toBe('DAEMON_RUNNING');
    expect((err as DstackError).message).toContain(`port ${first.port}`);
    expect((await new Api(first.url, await tokenOf(h)).call('GET', '/api/health')).status).toBe(200);
  });

  it('health needs no token; every other /api route needs the admin token', async () => {
    const h = await home();
    const d = await start(h);
    const api = new Api(d.url, await tokenOf(h));
    const health = await api.call<{ version: string; home: string }>('GET', '/api/health', undefined, '');
    expect(health.status).toBe(200);
    expect(health.body.home).toBe(h);
    expect((await api.call('GET', '/api/runs', undefined, '')).status).toBe(401);
    expect((await api.call('GET', '/api/runs', undefined, 'wrong-token-wrong-token')).status).toBe(401);
    const runs = await api.call<{ runs: unknown[] }>('GET', '/api/runs');
    expect(runs).toEqual({ status: 200, body: { runs: [] } });
    const missing = await api.call<{ code: string }>('GET', '/api/runs/nope');
    expect([missing.status, missing.body.code]).toEqual([404, 'RUN_NOT_FOUND']);
    const bad = await api.call<{ code: string; message: string }>('POST', '/api/runs/plan', { config: { type: 'service', port: 'x' } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/port/);
  });

  it('rejects unsupported fields at plan time with the field named', async () => {
    const h = await home();
    const d = await start(h);
    const api = new Api(d.url, await tokenOf(h));
    const r = await api.call<{ code: string; message: string }>('POST', '/api/runs/plan', {
      config: { type: 'service', name: 'x1', image: 'a', port: 80, schedule: { cron: '0 * * * *' } },
    });
    expect([r.status, r.body.code, r.body.message]).toEqual([400, 'NOT_SUPPORTED_YET', '`schedule` is not supported yet']);
  });

  it('a corrupt state file: a clear error naming it and its backup, then the next start works', async () => {
    const h = await home();
    await start(h).then((d) => d.close());
    open.length = 0;
    const state = join(h, 'server', 'state.json');
    await writeFile(state, '{"version": 1, "runs": [oops');
    const err = (await runDaemon({ home: h, port: 0, exitOnCompromise: false }).catch((e: unknown) => e)) as DstackError;
    expect(err.code).toBe('STATE_CORRUPT');
    expect(err.message).toContain(state);
    const backups = (await readdir(join(h, 'server'))).filter((f) => f.startsWith('state.json.corrupt-'));
    expect(backups).toHaveLength(1);
    expect(err.message).toContain(backups[0]);
    const again = await start(h);
    expect((await new Api(again.url, await tokenOf(h)).call('GET', '/api/runs')).status).toBe(200);
  });
});
