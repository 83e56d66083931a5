/**
 * The daemon with DSTACK_PROXY_WORKERS=2 (the process runtime: no Docker needed): the CLI's API calls, the run's
 * event stream (SSE) and `/metrics` reach the primary through the workers, the service answers through them, the
 * primary's stats (what the autoscaler reads) count every request, and closing the daemon stops the workers.
 */
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDaemon, type Daemon } from '../../../src/daemon/main.js';
import { stopLocalAgent } from '../../../src/backends/local/agent-process.js';
import { freePort } from '../../helpers/net.js';
import { Api, ROOT, buildAgent, isReady, removeDir, tempDir, waitFor } from './harness.js';
import { buildProxyWorker } from './proxy-worker-bundle.js';

/** One GET over its own connection, so the kernel picks a worker for each. */
function get(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('daemon with proxy_workers 2', () => {
  let dir: string;
  let home: string;
  let daemon: Daemon;
  let api: Api;
  let port: number;
  const name = `pw-${process.pid}`;

  beforeAll(async () => {
    dir = await tempDir('dstack-pw-daemon-');
    home = join(dir, 'home');
    port = await freePort();
    const [agent, worker] = await Promise.all([buildAgent(dir), buildProxyWorker(dir)]);
    const env = { ...process.env, DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}`, DSTACK_AGENT_BIN: agent, DSTACK_PROXY_WORKERS: '2' };
    daemon = await runDaemon({ home, port: 0, env, exitOnCompromise: false, tickMs: 250, proxyWorkerArgv: [worker] });
    const { readFile } = await import('node:fs/promises');
    const token = /^token:\s*(\S+)/m.exec(await readFile(join(home, 'config.yml'), 'utf8'))?.[1] ?? '';
    api = new Api(daemon.url, token);
  }, 60_000);

  afterAll(async () => {
    await daemon?.close();
    await stopLocalAgent(join(home, 'server', 'local-agent'));
    await removeDir(dir);
  });

  it('runs the data plane in two workers', () => {
    expect(daemon.proxyWorkers?.pids()).toHaveLength(2);
    expect(daemon.proxyWorkers?.pids()).not.toContain(process.pid);
  });

  it('serves the control API, its event stream, the service and /metrics through the workers', async () => {
    await api.apply({
      type: 'service',
      name,
      commands: [`node ${join(ROOT, 'test/fixtures/servers/http-echo.mjs')}`],
      env: { PORT: String(port) },
      port,
      stop_duration: 2,
    });
    // The run's SSE stream: the first view arrives while the stream stays open.
    const first = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${daemon.url}/api/runs/${name}/events`, { headers: { authorization: `Bearer ${api.token}` }, agent: false }, (res) => {
        expect(res.headers['content-type']).toMatch(/text\/event-stream/);
        res.once('data', (c: Buffer) => {
          resolve(c.toString());
          req.destroy();
        });
      });
      req.on('error', reject);
      req.end();
    });
    expect(first).toContain(name);
    await waitFor('the replica to be ready', async () => isReady(await api.run(name)), 60_000);

    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => get(`${daemon.url}/proxy/services/main/${name}/n${i}`, { authorization: `Bearer ${api.token}` })));
    expect(answers.map((a) => a.status)).toEqual(Array(30).fill(200));
    await waitFor('the workers to report', async () => daemon.stats.totals('main', name).responses >= 30, 10_000);
    expect(daemon.stats.totals('main', name).requests).toBe(30);
    const metrics = await get(`${daemon.url}/metrics`, { authorization: `Bearer ${api.token}` });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(new RegExp(`dstack_requests_total\\{[^}]*${name}[^}]*\\} 30`));

    await api.stop(name);
    await waitFor('the run to terminate', async () => (await api.run(name)).status === 'terminated', 60_000);
    expect((await get(`${daemon.url}/proxy/services/main/${name}/`, { authorization: `Bearer ${api.token}` })).status).not.toBe(200);
  }, 120_000);

  it('hands the dashboard to the primary, which alone loads its assets; other unknown paths stay 404', async () => {
    // Separate connections, so the kernel spreads them over the workers sharing the port.
    const pages = await Promise.all(Array.from({ length: 12 }, () => get(`${daemon.url}/`, {})));
    expect(pages.map((p) => p.status).filter((s) => s === 404)).toEqual([]);
    expect((await get(`${daemon.url}/not-a-dashboard-path`, {})).status).toBe(404);
  });

  it('stops the workers when the daemon closes', async () => {
    const pids = daemon.proxyWorkers?.pids() ?? [];
    await daemon.close();
    const alive = pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    expect(alive).toEqual([]);
  });
});
