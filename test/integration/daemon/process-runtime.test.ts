/**
 * Without a Docker engine (DOCKER_HOST → a socket that does not exist) the local backend runs `commands` as
 * plain processes: the plan says so, and the service answers through the proxy and stops cleanly.
 */
import { freePort } from '../../helpers/net.js';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, buildAgent, isReady, removeDir, startTestDaemon, tempDir, waitFor, type TestDaemon } from './harness.js';


describe('local backend without Docker: process runtime', () => {
  let dir: string;
  let t: TestDaemon;
  let port: number;
  const name = `proc-${process.pid}`;

  beforeAll(async () => {
    dir = await tempDir('dstack-proc-');
    port = await freePort();
    t = await startTestDaemon(await buildAgent(dir), { DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}` }, join(dir, 'home'));
  });

  afterAll(async () => {
    await t?.close();
    await removeDir(dir);
  });

  const config = () => ({
    type: 'service',
    name,
    commands: [`node ${join(ROOT, 'test/fixtures/servers/http-echo.mjs')}`],
    env: { PORT: String(port) },
    port,
    stop_duration: 2,
  });

  it('the offer says processes', async () => {
    const plan = await t.api.plan(config());
    expect(plan.offers[0]).toMatchObject({ backend: 'local', runtime: 'process' });
  });

  it('runs the commands as a process that answers through the proxy, and stops it', async () => {
    const applied = await Promise.race([t.api.apply(config()), new Promise<never>((_r, reject) => setTimeout(() => reject(new Error('apply did not answer within 30 s')), 30_000).unref())]);
    expect(applied.name).toBe(name);
    let last: unknown;
    await waitFor('the process replica to be ready', async () => {
      const run = await t.api.run(name);
      last = { status: run.status, statusMessage: run.statusMessage, replicas: run.replicas };
      return isReady(run);
    }, 60_000).catch((e: Error) => {
      throw new Error(`${e.message}; last view: ${JSON.stringify(last)}`);
    });
    const res = await t.api.service('main', name, '/from-process');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text).path).toMatch(/^\/from-process/);
    await t.api.stop(name);
    await waitFor('the run to terminate', async () => (await t.api.run(name)).status === 'terminated');
    const after = await fetch(`http://127.0.0.1:${port}/`).then(() => 'answered', () => 'refused');
    expect(after).toBe('refused');
  }, 120_000);
});
