import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { emptyState, type InstanceRecord, type RunRecord } from '../../core/state/schema.js';
import { MemoryRouteTable } from '../../proxy/routing/route-table.js';
import { createJsonStateStore } from '../state/json-store.js';
import { FakeBackend, type FakeLink } from '../../../test/unit/reconcile/fake-agent.js';
import { FakeScheduler } from '../../../test/unit/reconcile/fake-scheduler.js';
import { replica, run } from '../../../test/unit/reconcile/fixtures.js';
import { Reconciler } from './reconciler.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The reconciler over the real JSON store and route table, fake agents and fake time (starting at 1 s). */
async function world(o: { runs: RunRecord[]; instances?: InstanceRecord[]; agents?: string[] }) {
  const dir = await mkdtemp(join(tmpdir(), 'reconciler-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const store = createJsonStateStore(join(dir, 'state.json'), { ...emptyState(), runs: o.runs, instances: o.instances ?? [] });
  cleanups.push(() => store.flush());
  const routes = new MemoryRouteTable();
  cleanups.push(() => routes.close());
  const scheduler = new FakeScheduler(1_000);
  const backend = new FakeBackend(o.agents ?? ['local']);
  const notified: string[] = [];
  const log: string[] = [];
  const reconciler = new Reconciler<FakeLink>({
    store,
    backend,
    routes,
    events: { notify: (id) => notified.push(id) },
    log: (line) => log.push(line),
    clock: scheduler.clock,
    scheduler,
    tickMs: 1_000,
    backoffBaseMs: 1_000,
    crashLoopLimit: 3,
    readTimeoutMs: 1_000,
    hostLossMs: 30_000,
  });
  return {
    store,
    scheduler,
    backend,
    reconciler,
    notified,
    log,
    start: async () => {
      const stop = await reconciler.start();
      cleanups.push(stop);
      await scheduler.advance(0);
    },
    replica: (id: string) => store.runs().flatMap((r) => r.replicas).find((r) => r.id === id),
  };
}

describe('Reconciler with the JSON store and an in-memory agent', () => {
  it('starts the replica a new run submits and stores what the agent answered', async () => {
    const w = await world({ runs: [run({ desiredReplicas: 1 })] });
    await w.start();
    expect(w.backend.agent('local').calls).toEqual(['create svc-0-0']);
    expect(w.replica('svc-0-0')).toMatchObject({ status: 'running', instance: 'local', hostPort: 41_000 });
    await w.scheduler.advance(1_000);
    expect(w.store.run('r1')?.status).toBe('running');
    expect(w.backend.agent('local').calls).toEqual(['create svc-0-0']);
  });

  it("stops what the agent's snapshot holds that state does not want, and ends what the agent lost", async () => {
    const w = await world({ runs: [run({ status: 'running', desiredReplicas: 2, replicas: [replica({ num: 0 }), replica({ num: 1 })] })] });
    const agent = w.backend.agent('local');
    agent.holds({ id: 'svc-0-0', hostPort: 40_000 });
    agent.holds({ id: 'gone-3-7' });
    await w.start();
    expect(agent.calls).toContain('stop gone-3-7 0');
    expect(agent.calls.filter((c) => c.includes('svc-0-0'))).toEqual([]);
    expect(agent.replicas.has('gone-3-7')).toBe(false);
    expect(w.replica('svc-1-0')).toMatchObject({ status: 'failed', finishedAt: 1_000 });
  });

  it('fails the replicas of a host unreachable past the loss window with instance_unreachable, then replaces them', async () => {
    const away: InstanceRecord = { name: 'gpus-0', fleet: 'gpus', backend: 'ssh', status: 'busy', unreachable: true, unreachableSince: 1_000, createdAt: 0 };
    const w = await world({
      runs: [run({ status: 'running', replicas: [replica({ instance: 'gpus-0', backend: 'ssh' })] })],
      instances: [away],
      agents: ['local', 'gpus-0'],
    });
    w.backend.down.add('gpus-0');
    await w.start();
    expect(w.replica('svc-0-0')).toMatchObject({ status: 'running', statusMessage: 'instance unreachable' });
    await w.scheduler.advance(29_000);
    expect(w.replica('svc-0-0')?.status).toBe('running');
    await w.scheduler.advance(1_000);
    expect(w.replica('svc-0-0')).toMatchObject({ status: 'failed', reason: 'instance_unreachable', finishedAt: 31_000 });
    // The replacement waits out the first backoff (1 s here), then starts on the machine that answers.
    await w.scheduler.advance(2_000);
    expect(w.backend.agent('local').calls).toEqual(['create svc-0-1']);
    expect(w.replica('svc-0-1')).toMatchObject({ status: 'running', instance: 'local' });
  });

  it('writes and announces a replica update only when it changes the record', async () => {
    const w = await world({ runs: [run({ status: 'running', statusMessage: 'running', replicas: [replica()] })] });
    w.backend.agent('local').holds({ id: 'svc-0-0', hostPort: 40_000 });
    await w.start();
    const before = w.store.run('r1');
    const announced = w.notified.length;
    expect(w.reconciler.updateReplica('svc-0-0', (r) => ({ ...r }))).toBe(true);
    expect(w.store.run('r1')).toBe(before);
    expect(w.notified).toHaveLength(announced);
    w.reconciler.updateReplica('svc-0-0', (r) => ({ ...r, statusMessage: 'hello' }));
    expect(w.store.run('r1')).not.toBe(before);
    expect(w.notified.slice(announced)).toEqual(['r1']);
    expect(w.reconciler.updateReplica('nope-0-0', (r) => r)).toBe(false);
  });
});
