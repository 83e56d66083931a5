/**
 * Autoscaling on requests per second and rate limits, end to end in one daemon (real agent, test dockerd):
 * a service at `replicas: 0..2` cold-starts on its first request, a bounded loopback load raises it to 2
 * replicas, and when the load stops it goes back to 0. Waits are bounded; no timing is asserted.
 */
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '../../../src/core/api.js';
import {
  buildAgent, isReady, removeContainersOf, removeDir, requireDocker, startTestDaemon, tempDir, waitFor, type TestDaemon,
} from './harness.js';

const tag = process.pid;
const names = [`scale-${tag}`, `limited-${tag}`];
const web = (name: string) => ({
  type: 'service', name, image: 'dstack-test/node:latest', commands: ['node /srv/http-echo.mjs'], env: { PORT: '8000' }, port: 8000, stop_duration: 1,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const live = (v: RunView) => v.replicas.filter((r) => !['terminated', 'aborted', 'failed', 'done'].includes(r.status));

describe('autoscaling and rate limits', () => {
  let dir: string;
  let t: TestDaemon;

  beforeAll(async () => {
    await requireDocker(['dstack-test/node:latest']);
    dir = await tempDir('dstack-autoscale-');
    t = await startTestDaemon(await buildAgent(dir), { DSTACK_AUTOSCALER_TICK_MS: '1000' }, join(dir, 'home'));
  });

  afterAll(async () => {
    await t?.close();
    for (const n of names) await removeContainersOf(n);
    await removeDir(dir);
  });

  const get = async (run: string, path: string): Promise<number> => {
    const res = await request(`${t.daemon.url}/proxy/services/main/${run}${path}`, {
      headers: { authorization: `Bearer ${t.token}` },
      headersTimeout: 120_000,
      bodyTimeout: 120_000,
    });
    await res.body.dump();
    return res.statusCode;
  };

  it('scales 0 → 1 on the first request, to 2 under load, and back to 0 when the load stops', async () => {
    const name = names[0]!;
    const v = await t.api.apply({
      ...web(name),
      replicas: '0..2',
      scaling: { metric: 'rps', target: 2, window: '30s', scale_up_delay: '5s', scale_down_delay: '10s' },
    });
    expect([v.status, v.desiredReplicas]).toEqual(['pending', 0]);

    // Cold start: the first request is held until a replica is ready, never a 503.
    expect(await get(name, '/first')).toBe(200);

    // ~8 req/s for ~25 s on loopback, each request on its own (the load does not slow down with the service).
    const statuses: Promise<number>[] = [];
    let maxDesired = 0;
    let maxRps = 0;
    for (let i = 0; i < 200; i++) {
      statuses.push(get(name, `/load/${i}`).catch(() => -1));
      if (i % 4 === 0) {
        const view = await t.api.run(name);
        maxDesired = Math.max(maxDesired, view.desiredReplicas);
        maxRps = Math.max(maxRps, view.rps ?? 0);
      }
      await sleep(125);
    }
    const answered = await Promise.all(statuses);
    expect(answered.filter((s) => s < 200 || s >= 300)).toEqual([]);
    expect(maxRps).toBeGreaterThan(0);

    const up = await waitFor('2 ready replicas', async () => {
      const view = await t.api.run(name);
      maxDesired = Math.max(maxDesired, view.desiredReplicas);
      return isReady(view, 2) && view;
    }, 90_000);
    expect(maxDesired).toBe(2);
    expect(up.desiredReplicas).toBe(2);

    const metrics = await request(`${t.daemon.url}/metrics`, { headers: { authorization: `Bearer ${t.token}` } });
    const text = await metrics.body.text();
    expect(metrics.statusCode).toBe(200);
    expect(text).toMatch(new RegExp(`dstack_requests_total\\{project="main",run="${name}"\\} (\\d+)`));
    expect(Number(new RegExp(`dstack_requests_total\\{project="main",run="${name}"\\} (\\d+)`).exec(text)?.[1])).toBeGreaterThanOrEqual(201);
    expect(text).toContain(`dstack_desired_replicas{project="main",run="${name}"} 2`);
    expect(text).toContain(`dstack_replicas{project="main",run="${name}",status="ready"} 2`);
    const anonymous = await request(`${t.daemon.url}/metrics`);
    await anonymous.body.dump();
    expect(anonymous.statusCode).toBe(401);

    // No load: the 30 s window empties, and after scale_down_delay both replicas are drained and stopped.
    const down = await waitFor('scale to zero', async () => {
      const view = await t.api.run(name);
      return view.desiredReplicas === 0 && live(view).length === 0 && view;
    }, 150_000);
    expect(down.status).toBe('pending');
  }, 400_000);

  it('a rate limit of 5 rps with burst 0 answers 429 for the excess', async () => {
    const name = names[1]!;
    await t.api.apply({ ...web(name), rate_limits: [{ rps: 5, burst: 0 }] });
    await waitFor('ready', async () => isReady(await t.api.run(name)), 120_000);
    const answered = await Promise.all(Array.from({ length: 20 }, (_, i) => get(name, `/burst/${i}`)));
    expect(answered.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(answered.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(answered.filter((s) => s === 200).length).toBeGreaterThan(0);
  }, 200_000);
});
