/**
 * `POST /api/runs/<name>/restart` on a real daemon (real agent, test dockerd): an active service rolls every
 * replica over to a fresh one while it keeps answering, a stopped one is submitted again from its stored
 * configuration, an unknown run is 404 and a user outside the project is 403, under both URL forms.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '../../../src/core/api.js';
import { Api, buildAgent, isReady, removeContainersOf, removeDir, requireDocker, startTestDaemon, tempDir, waitFor, type TestDaemon } from './harness.js';

const name = `restart-${process.pid}`;
const web = {
  type: 'service', name, image: 'dstack-test/node:latest', commands: ['node /srv/http-echo.mjs'], env: { PORT: '8000' }, port: 8000, stop_duration: 1, replicas: 2,
};

const live = (v: RunView) => v.replicas.filter((r) => !['terminated', 'aborted', 'failed', 'done'].includes(r.status));

describe('restarting a run', () => {
  let dir: string;
  let t: TestDaemon;

  beforeAll(async () => {
    await requireDocker(['dstack-test/node:latest']);
    dir = await tempDir('dstack-restart-');
    t = await startTestDaemon(await buildAgent(dir), {}, join(dir, 'home'));
  });

  afterAll(async () => {
    await t?.close();
    await removeContainersOf(name);
    await removeDir(dir);
  });

  it('replaces every replica of an active service by a fresh one, and the service answers throughout', async () => {
    await t.api.apply(web);
    const before = await waitFor('two ready replicas', async () => {
      const v = await t.api.run(name);
      return isReady(v, 2) ? v : undefined;
    }, 120_000);
    const oldIds = new Set(before.replicas.map((r) => `${r.num}/${r.submission}`));

    let probing = true;
    const failures: number[] = [];
    let answered = 0;
    const prober = (async () => {
      while (probing) {
        const r = await t.api.service('main', name, '/').catch(() => ({ status: 0, text: '' }));
        if (r.status === 200) answered++;
        else failures.push(r.status);
      }
    })();
    try {
      const restarted = await t.api.call<RunView>('POST', `/api/runs/${name}/restart`);
      expect(restarted.status).toBe(200);
      expect(restarted.body.deployment).toBe(before.deployment + 1);
      const after = await waitFor('every replica replaced and ready', async () => {
        const v = await t.api.run(name);
        const current = live(v);
        const fresh = current.every((r) => r.deployment === before.deployment + 1 && !oldIds.has(`${r.num}/${r.submission}`));
        return current.length === 2 && fresh && isReady(v, 2) ? v : undefined;
      }, 180_000);
      expect(after.status).toBe('running');
    } finally {
      probing = false;
      await prober;
    }
    expect(answered).toBeGreaterThan(0);
    expect(failures).toEqual([]);
  });

  it('submits a stopped run again from its stored configuration, under the project URL too', async () => {
    await t.api.stop(name);
    const stopped = await waitFor('the run stopped', async () => {
      const v = await t.api.run(name);
      return v.status === 'terminated' ? v : undefined;
    }, 60_000);
    const res = await t.api.call<RunView>('POST', `/api/projects/main/runs/${name}/restart`);
    expect(res.status).toBe(200);
    expect(res.body.submittedAt).toBeGreaterThan(stopped.submittedAt);
    await waitFor('the new submission ready', async () => isReady(await t.api.run(name), 2), 120_000);
    const list = await t.api.call<{ runs: RunView[] }>('GET', '/api/runs');
    expect(list.body.runs.filter((r) => r.name === name).map((r) => r.status)).toEqual(['running']);
    expect((await t.api.service('main', name, '/')).status).toBe(200);
  });

  it('answers 404 for an unknown run and 403 for a user who is no member of the project', async () => {
    const unknown = await t.api.call<{ code: string }>('POST', `/api/runs/no-such-run-${process.pid}/restart`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('RUN_NOT_FOUND');

    const created = await t.api.call<{ token: string }>('POST', '/api/users', { name: 'outsider' });
    expect(created.status).toBe(200);
    const outsider = new Api(t.api.url, created.body.token);
    for (const path of [`/api/runs/${name}/restart`, `/api/projects/main/runs/${name}/restart`]) {
      const denied = await outsider.call<{ code: string }>('POST', path);
      expect(denied.status, path).toBe(403);
      expect(denied.body.code).toBe('FORBIDDEN');
    }
    // Refused means nothing happened: still the one deployment of the last submission.
    expect((await t.api.run(name)).deployment).toBe(0);
  });
});
