/**
 * The daemon's worker sync against the fake SGLang router and workers (test/fixtures/servers/sglang-router.mjs) as
 * real processes on loopback, the process-runtime case (worker URL = http://127.0.0.1:<port>): the router learns
 * the ready workers through dstack's endpoints, loses the one that is stopped, ignores one not ready, and a
 * router that is not up yet is logged and retried on the next tick without breaking the loop.
 */
import { execa, type ResultPromise } from 'execa';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RouterWorkerSync } from '../../../src/daemon/runs/router-workers.js';
import type { RunRecord } from '../../../src/core/state/schema.js';
import { freePort, httpGet, waitForPort } from '../../helpers/net.js';
import { serviceConfig } from '../../helpers/configs.js';
import { replica, run } from '../../unit/reconcile/fixtures.js';

const FIXTURE = resolve(import.meta.dirname, '../../fixtures/servers/sglang-router.mjs');
const started: ResultPromise[] = [];

async function start(mode: 'router' | 'worker'): Promise<number> {
  const port = await freePort();
  started.push(execa(process.execPath, [FIXTURE, mode], { env: { PORT: String(port) }, reject: false }));
  await waitForPort('127.0.0.1', port);
  return port;
}

afterEach(() => {
  for (const p of started.splice(0)) p.kill();
});

const config = serviceConfig({
  groups: [
    { name: 'router', replicas: 1, router: { type: 'sglang' }, commands: ['r'] },
    { name: 'workers', replicas: '0..3', scaling: { metric: 'rps', target: 1 }, commands: ['w'] },
  ],
});
const record = (routerPort: number, workers: { port: number; ready?: boolean }[]): RunRecord =>
  run({
    status: 'running',
    config,
    replicas: [
      replica({ num: 0, group: 'router', hostPort: routerPort, runtime: 'process', ready: false }),
      ...workers.map((w, i) => replica({ num: 1 + i, group: 'workers', hostPort: w.port, runtime: 'process', ready: w.ready ?? true })),
    ],
  });

async function until<T>(what: string, check: () => Promise<T | undefined>, sync: RouterWorkerSync): Promise<T> {
  for (let i = 0; i < 200; i++) {
    sync.tick();
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const listed = async (routerPort: number) => {
  const r = await httpGet(`http://127.0.0.1:${routerPort}/workers`);
  return (JSON.parse(r.body) as { workers: { url: string; worker_type: string; connection_mode: string }[] }).workers;
};

describe('RouterWorkerSync', () => {
  it('keeps the router\'s /workers equal to the ready workers as they come and go', async () => {
    const [a, b, notReady] = [await start('worker'), await start('worker'), await freePort()];
    const routerPort = await freePort();
    let runs = [record(routerPort, [{ port: a }, { port: b }, { port: notReady, ready: false }])];
    const log: string[] = [];
    const sync = new RouterWorkerSync({
      runs: () => runs,
      connection: () => ({ replicaOrigin: (port) => ({ origin: `http://127.0.0.1:${port}` }), client: { getReplica: () => Promise.reject(new Error('not asked for processes')) } }),
      log: (line) => log.push(line),
      clock: Date.now,
      resyncMs: 0,
    });
    try {
      // No router listening yet: the failure is logged once, and ticking goes on.
      sync.tick();
      await until('the failure logged', async () => (log.some((l) => l.includes('failed (retrying)')) ? true : undefined), sync);
      expect(log.filter((l) => l.includes('failed (retrying)'))).toHaveLength(1);

      started.push(execa(process.execPath, [FIXTURE, 'router'], { env: { PORT: String(routerPort) }, reject: false }));
      const both = [`http://127.0.0.1:${a}`, `http://127.0.0.1:${b}`].sort();
      const workers = await until('both workers listed', async () => {
        const w = await listed(routerPort);
        return w.map((x) => x.url).sort().join() === both.join() ? w : undefined;
      }, sync);
      expect(workers.map((w) => [w.worker_type, w.connection_mode])).toEqual([['regular', 'http'], ['regular', 'http']]);

      // Traffic sent to the router reaches the workers it was given.
      const answer = JSON.parse((await httpGet(`http://127.0.0.1:${routerPort}/v1/completions`)).body) as { workers: string[]; upstream: { path: string } };
      expect([answer.workers, answer.upstream.path]).toEqual([both, '/v1/completions']);

      // Worker b stops: it is removed by id.
      runs = [record(routerPort, [{ port: a }])];
      await until('only worker a listed', async () => ((await listed(routerPort)).map((x) => x.url).join() === `http://127.0.0.1:${a}` ? true : undefined), sync);
      expect(log.filter((l) => /added|removed/.test(l)).map((l) => l.replace(/.*router \S+: /, ''))).toEqual([
        ...both.map((u) => `added regular worker ${u}`),
        `removed worker http://127.0.0.1:${b}`,
      ]);
    } finally {
      await sync.close();
    }
  }, 60_000);
});
