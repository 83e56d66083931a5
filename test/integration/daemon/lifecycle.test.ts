/**
 * The main path on real components: daemon (port 0, temp home) → local backend → the real agent process →
 * the test dockerd → the proxy. One service goes through plan, apply, a killed container, a daemon restart,
 * a rolling update under traffic and a stop.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '../../../src/core/api.js';
import {
  buildAgent, containersOf, docker, isReady, removeContainersOf, removeDir, requireDocker, startTestDaemon, tempDir, waitFor,
  type TestDaemon,
} from './harness.js';

const NAME = `echo-${process.pid}`;
const config = (env: Record<string, string> = {}) => ({
  type: 'service',
  name: NAME,
  image: 'dstack-test/node:latest',
  commands: ['node /srv/http-echo.mjs'],
  env: { PORT: '8000', ...env },
  port: 8000,
  stop_duration: '2s',
});

describe('daemon lifecycle with the local backend and Docker', () => {
  let dir: string;
  let t: TestDaemon;
  const statuses = new Set<string>();

  beforeAll(async () => {
    await requireDocker(['dstack-test/node:latest']);
    dir = await tempDir('dstack-life-');
    t = await startTestDaemon(await buildAgent(dir), {}, join(dir, 'home'));
  });

  afterAll(async () => {
    await t?.close();
    await removeContainersOf(NAME);
    await removeDir(dir);
  });

  const view = async (): Promise<RunView> => {
    const v = await t.api.run(NAME);
    statuses.add(v.status);
    return v;
  };
  const runningContainers = async () => (await containersOf(NAME)).map((c) => c.Id);

  it('plans a new run on the local machine with Docker', async () => {
    const plan = await t.api.plan(config());
    expect(plan.action).toBe('create');
    expect(plan.runName).toBe(NAME);
    expect(plan.offers[0]).toMatchObject({ backend: 'local', region: 'local', instanceType: 'local', price: 0, runtime: 'docker', availability: 'available' });
    expect(plan.warnings).toEqual([]);
  });

  it('applies: the replica runs in a container and answers through the proxy', async () => {
    const applied = await t.api.apply(config());
    expect(applied.url).toBe(`${t.daemon.url}/proxy/services/main/${NAME}/`);
    await waitFor('the replica to be ready', async () => isReady(await view()));
    const res = await t.api.service('main', NAME, '/hello?x=1');
    expect(res.status).toBe(200);
    const echoed = JSON.parse(res.text) as { method: string; path: string };
    expect(echoed.method).toBe('GET');
    expect(echoed.path).toMatch(/^\/hello/);
    expect((await t.api.service('main', NAME, '/', '')).status).toBe(401);
    expect(await runningContainers()).toHaveLength(1);
  });

  it('replaces a killed container; the run stays running', async () => {
    const [before] = await runningContainers();
    await docker().getContainer(before!).kill();
    const replaced = await waitFor('a replacement replica', async () => {
      const v = await view();
      const r = v.replicas.find((x) => x.submission === 1);
      return r && isReady(v) && r.status === 'running' ? v : undefined;
    });
    expect(replaced.replicas.filter((r) => r.status === 'running')).toHaveLength(1);
    const [after] = await runningContainers();
    expect(after).not.toBe(before);
    expect((await t.api.service('main', NAME, '/')).status).toBe(200);
    expect(statuses.has('failed')).toBe(false);
  });

  it('a daemon restart adopts the running container (same id) and the local agent', async () => {
    const agentFile = join(t.home, 'server', 'local-agent', 'agent-process.json');
    const agentBefore = JSON.parse(await readFile(agentFile, 'utf8')).pid;
    const [before] = await runningContainers();
    await t.restart();
    expect((await t.api.service('main', NAME, '/again')).status).toBe(200);
    expect(await runningContainers()).toEqual([before]);
    expect(JSON.parse(await readFile(agentFile, 'utf8')).pid).toBe(agentBefore);
    const v = await view();
    expect(v.replicas.filter((r) => r.status === 'running').map((r) => r.submission)).toEqual([1]);
  });

  it('rolls out a changed env with no failed request: new container ready before the old one stops', async () => {
    const [old] = await runningContainers();
    const plan = await t.api.plan(config({ FOO: 'bar' }));
    expect(plan.action).toBe('update');
    expect(plan.changes).toEqual(['env (rolling deployment)']);
    await t.api.apply(config({ FOO: 'bar' }));
    const failures: string[] = [];
    let requests = 0;
    let done = false;
    const traffic = (async () => {
      while (!done && requests < 5_000) {
        requests++;
        const r = await t.api.service('main', NAME, '/').catch((e: Error) => ({ status: 0, text: e.message }));
        if (r.status !== 200) failures.push(`${r.status} ${r.text}`);
      }
    })();
    await waitFor('the new deployment to serve alone', async () => {
      const v = await view();
      const live = v.replicas.filter((r) => r.status === 'running');
      return live.length === 1 && live[0]!.deployment === 1 && live[0]!.ready && (await runningContainers()).length === 1;
    }, 90_000);
    done = true;
    await traffic;
    expect(requests).toBeGreaterThan(0);
    expect(failures).toEqual([]);
    const [fresh] = await runningContainers();
    expect(fresh).not.toBe(old);
    const env = (await docker().getContainer(fresh!).inspect()).Config.Env;
    expect(env).toContain('FOO=bar');
  });

  it('re-applying the same config is a no-op', async () => {
    const plan = await t.api.plan(config({ FOO: 'bar' }));
    expect(plan.action).toBe('none');
    const v = await t.api.apply(config({ FOO: 'bar' }));
    expect(v.deployment).toBe(1);
  });

  it('stop: the run terminates and its containers are gone', async () => {
    await t.api.stop(NAME);
    await waitFor('the run to terminate', async () => (await view()).status === 'terminated');
    expect(await runningContainers()).toEqual([]);
    expect(await containersOf(NAME, true)).toEqual([]);
    expect((await t.api.service('main', NAME, '/')).status).toBe(404);
  });
});
