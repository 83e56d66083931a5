/**
 * Several runs on one daemon (real agent, test dockerd): concurrent applies, logs, the events stream, and the
 * crash-loop guard failing a run whose replicas never start.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '../../../src/core/api.js';
import { State } from '../../../src/core/state/schema.js';
import { readStoredState } from '../../helpers/state-db.js';
import { AgentClient } from '../../../src/backends/agent-client.js';
import {
  buildAgent, containersOf, isReady, removeContainersOf, removeDir, requireDocker, startTestDaemon, tempDir, waitFor,
  type TestDaemon,
} from './harness.js';

const tag = process.pid;
const names = [`web-a-${tag}`, `web-b-${tag}`, `crash-${tag}`, `leftover-${tag}`, `zero-${tag}`];
const web = (name: string) => ({
  type: 'service', name, image: 'dstack-test/node:latest', commands: ['node /srv/http-echo.mjs'], env: { PORT: '8000' }, port: 8000, stop_duration: 1,
});

describe('runs on one daemon', () => {
  let dir: string;
  let t: TestDaemon;

  beforeAll(async () => {
    await requireDocker(['dstack-test/node:latest']);
    dir = await tempDir('dstack-runs-');
    t = await startTestDaemon(await buildAgent(dir), {}, join(dir, 'home'));
  });

  afterAll(async () => {
    await t?.close();
    for (const n of names) await removeContainersOf(n);
    await removeDir(dir);
  });

  it('two concurrent applies create both runs; the state file stays valid', async () => {
    const [a, b] = await Promise.all([t.api.apply(web(names[0]!)), t.api.apply(web(names[1]!))]);
    expect([a.name, b.name].sort()).toEqual([names[0], names[1]].sort());
    // An apply is answered only once the run is on disk (or committed to the database).
    const saved = State.parse(await readStoredState(t.home, t.env));
    expect(saved.runs.map((r) => r.name)).toEqual(expect.arrayContaining([names[0], names[1]]));
    for (const n of [names[0]!, names[1]!]) {
      await waitFor(`${n} ready`, async () => isReady(await t.api.run(n)));
      expect((await t.api.service('main', n, '/')).status).toBe(200);
    }
    const list = await t.api.call<{ runs: RunView[] }>('GET', '/api/runs');
    expect(list.body.runs.map((r) => r.name).sort()).toEqual([names[0], names[1]].sort());
    const parsed = State.safeParse(await readStoredState(t.home, t.env));
    expect(parsed.success).toBe(true);
    expect(parsed.data?.runs.map((r) => r.name).sort()).toEqual([names[0], names[1]].sort());
  });

  it('a replica the agent runs but state does not know (a leftover) is stopped and removed', async () => {
    const agentDir = join(t.home, 'server', 'local-agent');
    const { port } = JSON.parse(await readFile(join(agentDir, 'agent-process.json'), 'utf8')) as { port: number };
    const client = new AgentClient({ origin: `http://127.0.0.1:${port}`, token: (await readFile(join(agentDir, 'agent-token'), 'utf8')).trim() });
    try {
      await client.createReplica({ id: names[3]!, runName: names[3]!, replicaNum: 0, image: 'dstack-test/node:latest', commands: ['sleep 300'], port: 8000 });
      await waitFor('the leftover to be removed', async () => (await containersOf(names[3]!, true)).length === 0 && (await client.listReplicas()).every((r) => r.id !== names[3] || r.phase === 'exited' || r.phase === 'failed'));
    } finally {
      await client.close();
    }
  });

  it('offers can be filtered with the resources grammar', async () => {
    const all = await t.api.call<{ offers: { availability: string }[] }>('GET', '/api/offers');
    expect(all.body.offers.map((o) => o.availability)).toEqual(['available']);
    const gpu = await t.api.call<{ offers: { availability: string }[] }>('GET', '/api/offers?gpu=A100:8');
    expect(gpu.body.offers.map((o) => o.availability)).toEqual(['not available']);
    expect((await t.api.call('GET', '/api/offers?cpu=lots')).status).toBe(400);
  });

  it('a service scaled to zero starts a replica for the first request, which is held and then answered', async () => {
    const v = await t.api.apply({ ...web(names[4]!), replicas: '0..1', scaling: { metric: 'rps', target: 1 } });
    expect([v.status, v.desiredReplicas, v.replicas]).toEqual(['pending', 0, []]);
    const res = await t.api.service('main', names[4]!, '/cold');
    expect(res.status).toBe(200);
    expect((await t.api.run(names[4]!)).desiredReplicas).toBe(1);
  });

  it('logs of replica 0 come from the container', async () => {
    await t.api.service('main', names[0]!, '/logged-path');
    const text = await waitFor('the request in the logs', async () => {
      const res = await request(`${t.daemon.url}/api/runs/${names[0]}/logs?replica=0`, { headers: { authorization: `Bearer ${t.token}` } });
      const body = await res.body.text();
      return res.statusCode === 200 && body.includes('/logged-path') ? body : undefined;
    });
    expect(text).toContain('/logged-path');
  });

  it('the events stream sends the run view at once and on changes until the run ends', async () => {
    const res = await request(`${t.daemon.url}/api/runs/${names[1]}/events`, { headers: { authorization: `Bearer ${t.token}` } });
    expect(res.headers['content-type']).toBe('text/event-stream');
    const views: RunView[] = [];
    let buffer = '';
    const reading = (async () => {
      for await (const chunk of res.body) {
        buffer += chunk.toString();
        for (let i = buffer.indexOf('\n\n'); i >= 0; i = buffer.indexOf('\n\n')) {
          const event = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          if (event.startsWith('data: ')) views.push(JSON.parse(event.slice(6)) as RunView);
        }
        if (views.length === 1) await t.api.stop(names[1]!);
      }
    })();
    await reading;
    expect(views[0]?.status).toBe('running');
    expect(views.at(-1)?.status).toBe('terminated');
    expect(views.some((v) => v.status === 'terminating')).toBe(true);
    expect(await containersOf(names[1]!)).toEqual([]);
  });

  it('a service whose command keeps failing: replaced with backoff, then the run fails with the reason', async () => {
    await t.api.apply({ type: 'service', name: names[2], image: 'dstack-test/node:latest', commands: ['echo boom-out && exit 3'], port: 8000 });
    const failed = await waitFor('the crash-loop guard', async () => {
      const v = await t.api.run(names[2]!);
      return v.status === 'failed' ? v : undefined;
    });
    expect(failed.replicas.map((r) => r.submission)).toEqual([2]);
    expect(failed.replicas[0]).toMatchObject({ status: 'failed', exitCode: 3, statusMessage: 'exited (3)' });
    expect(failed.error).toBeDefined();
    await waitFor('its containers to be removed', async () => (await containersOf(names[2]!, true)).length === 0);
    // The other service was not disturbed.
    expect((await t.api.service('main', names[0]!, '/')).status).toBe(200);
  });
});
