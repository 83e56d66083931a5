import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyProbeResult } from '../../core/reconcile/index.js';
import { emptyState, type ProbeSettings, type RunRecord } from '../../core/state/schema.js';
import { MemoryRouteTable } from '../../proxy/routing/route-table.js';
import { createJsonStateStore } from '../state/json-store.js';
import { FakeBackend, type FakeLink } from '../../../test/unit/reconcile/fake-agent.js';
import { FakeScheduler } from '../../../test/unit/reconcile/fake-scheduler.js';
import { agentState, replica, run, settings } from '../../../test/unit/reconcile/fixtures.js';
import { Reconciler } from './reconciler.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** One running service (replica svc-0-0 on the local fake agent) under the real JSON store and fake time. */
async function world(over: Partial<RunRecord> = {}, options: { usesFleets?: () => boolean } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'steady-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const r = run({ status: 'running', statusMessage: 'running', replicas: [replica({ readyAt: 0 })], ...over });
  const store = createJsonStateStore(join(dir, 'state.json'), { ...emptyState(), runs: [r] });
  cleanups.push(() => store.flush());
  const routes = new MemoryRouteTable();
  cleanups.push(() => routes.close());
  const scheduler = new FakeScheduler(1_000);
  const backend = new FakeBackend(['local']);
  backend.agent('local').holds({ id: 'svc-0-0', hostPort: 40_000 });
  const reconciler = new Reconciler<FakeLink>({
    store,
    backend,
    routes,
    events: { notify: () => {} },
    log: () => {},
    clock: scheduler.clock,
    scheduler,
    tickMs: 1_000,
    backoffBaseMs: 1_000,
    crashLoopLimit: 3,
    readTimeoutMs: 1_000,
    unhealthyGraceMs: 5_000,
    ...options,
  });
  cleanups.push(await reconciler.start());
  // The first ticks adopt what the agent reports; after them the run is steady.
  await scheduler.advance(3_000);
  /** How many runs the ticks in the next `ms` decided on. */
  const decidedOver = async (ms: number) => {
    const before = reconciler.decisions();
    await scheduler.advance(ms);
    return reconciler.decisions() - before;
  };
  return { store, backend, reconciler, decidedOver };
}

describe('Reconciler: a tick decides only on runs that changed or have a deadline due', () => {
  it('leaves a steady run alone tick after tick', async () => {
    const w = await world();
    expect(await w.decidedOver(10_000)).toBe(0);
    expect(w.store.run('r1')?.status).toBe('running');
  });

  it('decides again after a write to the run (an autoscaler count) and acts on it', async () => {
    const w = await world();
    w.store.updateRun('r1', (r) => ({ ...r, desiredReplicas: 2 }));
    expect(await w.decidedOver(1_000)).toBeGreaterThan(0);
    expect(w.backend.agent('local').calls).toContain('create svc-1-0');
  });

  it("decides again after an agent event and replaces the replica that exited", async () => {
    const w = await world();
    w.backend.agent('local').emit({ type: 'replica', replica: agentState({ phase: 'exited', exitCode: 1, finishedAt: 0 }) });
    expect(await w.decidedOver(1_000)).toBeGreaterThan(0);
    expect(w.store.run('r1')?.replicas.find((r) => r.id === 'svc-0-0')?.status).toBe('failed');
    await w.decidedOver(2_000);
    expect(w.backend.agent('local').calls).toContain('create svc-0-1');
  });

  it('decides again after a probe result, then when the grace period it started is over', async () => {
    const probe: ProbeSettings = { method: 'get', url: '/', headers: [], timeoutSeconds: 1, intervalSeconds: 1, readyAfter: 1, untilReady: false, failureThreshold: 1 };
    const passing = replica({ readyAt: 0, probes: [{ successStreak: 1, lastOk: true }] });
    const w = await world({ settings: settings({ probes: [probe] }), replicas: [passing] });
    // The fake clock stands at 4 s.
    const failed = w.reconciler.updateReplica('svc-0-0', (r, current) => applyProbeResult(r, current.settings, 0, false, 4_000, 'HTTP 500'));
    expect(failed).toBe(true);
    expect(w.store.run('r1')?.replicas[0]?.unhealthy).toBeDefined();
    expect(await w.decidedOver(1_000)).toBeGreaterThan(0);
    // Nothing changes while the grace period (5 s from 4 s) runs...
    expect(await w.decidedOver(3_000)).toBe(0);
    // ...and at its end the replica is retired: a replacement starts beside it.
    expect(await w.decidedOver(3_000)).toBeGreaterThan(0);
    expect(w.store.run('r1')?.replicas[0]?.unhealthy?.replacing).toBe(true);
    expect(w.backend.agent('local').calls).toContain('create svc-1-0');
  });

  it('decides again when where new replicas would go changes (fleets appear)', async () => {
    let fleets = false;
    const w = await world({}, { usesFleets: () => fleets });
    expect(await w.decidedOver(3_000)).toBe(0);
    fleets = true;
    expect(await w.decidedOver(1_000)).toBe(1);
    expect(await w.decidedOver(3_000)).toBe(0);
  });

  it('decides again when max_duration comes due and ends the run', async () => {
    const w = await world({ settings: settings({ maxDurationSeconds: 20 }) });
    expect(await w.decidedOver(10_000)).toBe(0);
    expect(await w.decidedOver(10_000)).toBeGreaterThan(0);
    expect(w.store.run('r1')?.terminationReason).toBe('max_duration_exceeded');
  });
});
