/**
 * Liveness after ready (issue 14), as pure decisions with injected time: probe results turn a ready replica unhealthy
 * and back, the route lists whom to send traffic to, and the reconciler replaces what stays unhealthy past the grace.
 */
import { describe, expect, it } from 'vitest';
import {
  applyProbeResult,
  DEFAULT_UNHEALTHY_GRACE_MS,
  reconcileRun,
  routable,
  unhealthyGraceFromEnv,
} from '../../../src/core/reconcile/index.js';
import type { ProbeSettings, ReplicaRecord } from '../../../src/core/state/schema.js';
import { ctx, replica, run, settings } from '../reconcile/fixtures.js';

const probe = (over: Partial<ProbeSettings> = {}): ProbeSettings => ({
  url: '/health', method: 'get', headers: [], timeoutSeconds: 1, intervalSeconds: 1, readyAfter: 1, untilReady: false, failureThreshold: 3, ...over,
});
const s = settings({ probes: [probe()], tcpCheck: false });
const fail = (r: ReplicaRecord, at: number, times = 1, o = s) => {
  for (let i = 0; i < times; i++) r = applyProbeResult(r, o, 0, false, at + i, 'HTTP 500');
  return r;
};
const pass = (r: ReplicaRecord, at: number, o = s) => applyProbeResult(r, o, 0, true, at);
const ready = (over: Partial<ReplicaRecord> = {}) => replica({ ready: true, readyAt: 1, probes: [{ successStreak: 1, lastOk: true, lastAt: 1 }], ...over });
const unhealthy = (since: number, over: Partial<ReplicaRecord> = {}) =>
  ready({ ready: false, unhealthy: { since, reason: 'GET /health failed 3 times in a row (HTTP 500)' }, probes: [{ successStreak: 0, lastOk: false, lastAt: since, failureStreak: 3 }], ...over });

describe('probe results after ready', () => {
  it('failure_threshold failures in a row make a ready replica unhealthy, with the probe and its answer as the reason', () => {
    const two = fail(ready(), 10, 2);
    expect([two.ready, two.unhealthy]).toEqual([true, undefined]);
    const three = fail(two, 12);
    expect(three.ready).toBe(false);
    expect(three.unhealthy).toEqual({ since: 12, reason: 'GET /health failed 3 times in a row (HTTP 500)' });
    expect(three.readyAt).toBe(1);
  });

  it('a success between failures starts the count again', () => {
    const r = fail(pass(fail(ready(), 10, 2), 12), 13, 2);
    expect([r.ready, r.unhealthy]).toEqual([true, undefined]);
  });

  it('an unhealthy replica is ready again once every probe reached ready_after, and keeps its first readyAt', () => {
    const o = settings({ probes: [probe({ readyAfter: 2 })], tcpCheck: false });
    let r = fail(ready(), 10, 3, o);
    r = pass(r, 20, o);
    expect(r.ready).toBe(false);
    r = pass(r, 21, o);
    expect([r.ready, r.unhealthy, r.readyAt]).toEqual([true, undefined, 1]);
  });

  it('any one probe at its threshold is enough; recovery needs all of them passing', () => {
    const o = settings({ probes: [probe(), probe({ url: '/ready', failureThreshold: 1 })], tcpCheck: false });
    let r = ready({ probes: [{ successStreak: 1 }, { successStreak: 1 }] });
    r = applyProbeResult(r, o, 1, false, 5, 'no answer within 1s');
    expect(r.unhealthy?.reason).toBe('GET /ready failed 1 times in a row (no answer within 1s)');
    r = applyProbeResult(r, o, 0, true, 6);
    expect(r.ready).toBe(false);
    r = applyProbeResult(r, o, 1, true, 7);
    expect(r.ready).toBe(true);
  });

  it('without failure_threshold in the stored settings the default is 3', () => {
    const o = settings({ probes: [probe({ failureThreshold: undefined })], tcpCheck: false });
    expect(fail(ready(), 1, 2, o).unhealthy).toBeUndefined();
    expect(fail(ready(), 1, 3, o).unhealthy).toBeDefined();
  });

  it('an until_ready probe and a replica never ready do not judge liveness', () => {
    const once = settings({ probes: [probe({ untilReady: true })], tcpCheck: false });
    expect(fail(ready(), 1, 5, once).ready).toBe(true);
    const starting = fail(replica({ ready: false, probes: [{ successStreak: 0 }] }), 1, 5);
    expect([starting.ready, starting.unhealthy]).toEqual([false, undefined]);
  });
});

describe('routable', () => {
  it('lists ready replicas only while one is ready; with none, the unhealthy ones (fail open)', () => {
    const a = ready({ num: 0 });
    const b = unhealthy(5, { num: 1, id: 'svc-1-0' });
    const starting = replica({ num: 2, id: 'svc-2-0', ready: false });
    expect(routable([a, b, starting]).map((r) => r.id)).toEqual(['svc-0-0']);
    expect(routable([b, starting]).map((r) => r.id)).toEqual(['svc-1-0']);
    expect(routable([{ ...b, stop: { abort: false, reason: 'unhealthy', at: 9 } }, starting])).toEqual([]);
  });
});

describe('reconcileRun: unhealthy replicas', () => {
  const grace = 1_000;
  const at = (now: number) => ctx(now, { unhealthyGraceMs: grace });

  it('waits out the grace period: nothing stopped, nothing started', () => {
    const input = run({ status: 'running', desiredReplicas: 2, replicas: [ready({ num: 0 }), unhealthy(100, { num: 1, id: 'svc-1-0' })] });
    const { run: next, effects } = reconcileRun(input, at(100 + grace - 1));
    expect(effects).toEqual([]);
    expect(next.replicas).toHaveLength(2);
  });

  it('past the grace, one out of routing is stopped at once (reason unhealthy) and its number gets a new submission', () => {
    const input = run({ status: 'running', desiredReplicas: 2, replicas: [ready({ num: 0 }), unhealthy(100, { num: 1, id: 'svc-1-0' })] });
    const { run: next, effects } = reconcileRun(input, at(100 + grace));
    expect(effects).toEqual([
      { type: 'stop', replicaId: 'svc-1-0', abort: false, timeoutSeconds: 300 },
      { type: 'start', replicaId: 'svc-1-1' },
    ]);
    expect(next.replicas.find((r) => r.id === 'svc-1-0')?.stop?.reason).toBe('unhealthy');
  });

  it("the service's last replica keeps serving while its replacement starts, and stops once that one is ready", () => {
    const input = run({ status: 'running', desiredReplicas: 1, replicas: [unhealthy(100)] });
    const first = reconcileRun(input, at(100 + grace));
    expect(first.effects).toEqual([{ type: 'start', replicaId: 'svc-1-0' }]);
    expect(first.run.replicas[0]).toMatchObject({ id: 'svc-0-0', unhealthy: { replacing: true } });
    expect(first.run.replicas[0]?.stop).toBeUndefined();

    // Still starting: nothing changes, however long it takes.
    const starting = { ...first.run, replicas: first.run.replicas.map((r) => (r.num === 1 ? { ...r, status: 'running' as const, hostPort: 40_001 } : r)) };
    expect(reconcileRun(starting, at(100 + 60 * grace)).effects).toEqual([]);

    const replaced = { ...starting, replicas: starting.replicas.map((r) => (r.num === 1 ? { ...r, ready: true, readyAt: 5_000 } : r)) };
    const second = reconcileRun(replaced, at(5_000));
    expect(second.effects).toEqual([{ type: 'stop', replicaId: 'svc-0-0', abort: false, timeoutSeconds: 300 }]);
    expect(second.run.replicas.find((r) => r.num === 1)?.stop).toBeUndefined();
  });

  it('one that recovers while its replacement starts stays; the replacement is the one scaled away', () => {
    const input = run({ status: 'running', desiredReplicas: 1, replicas: [unhealthy(100)] });
    const first = reconcileRun(input, at(100 + grace)).run;
    const recovered = applyProbeResult(first.replicas[0]!, s, 0, true, 1_200);
    expect([recovered.ready, recovered.unhealthy]).toEqual([true, undefined]);
    const { run: after, effects } = reconcileRun({ ...first, replicas: [recovered, ...first.replicas.slice(1)] }, at(1_300));
    // The replacement was never sent to an agent: it just ends, and nothing else stops.
    expect(effects).toEqual([]);
    expect(after.replicas.find((r) => r.num === 1)).toMatchObject({ status: 'terminated', reason: 'scaled_down' });
    expect(after.replicas.find((r) => r.num === 0)?.stop).toBeUndefined();
  });

  it('scaled to zero, a replica being replaced stops with its group', () => {
    const input = run({ status: 'running', desiredReplicas: 0, replicas: [unhealthy(100, { unhealthy: { since: 100, reason: 'x', replacing: true } })] });
    const { effects } = reconcileRun(input, at(100 + grace));
    expect(effects).toEqual([{ type: 'stop', replicaId: 'svc-0-0', abort: false, timeoutSeconds: 300 }]);
  });

  it('without a grace in the context, it is SkyServe\'s 180 s', () => {
    const input = run({ status: 'running', desiredReplicas: 2, replicas: [ready({ num: 0 }), unhealthy(0, { num: 1, id: 'svc-1-0' })] });
    expect(reconcileRun(input, ctx(DEFAULT_UNHEALTHY_GRACE_MS - 1)).effects).toEqual([]);
    expect(reconcileRun(input, ctx(DEFAULT_UNHEALTHY_GRACE_MS)).effects.map((e) => e.type)).toEqual(['stop', 'start']);
  });

  it('a rolling update keeps an old unhealthy replica serving when it is the last one', () => {
    const input = run({ status: 'running', deployment: 1, desiredReplicas: 1, replicas: [unhealthy(100)] });
    const { run: next, effects } = reconcileRun(input, at(200));
    expect(next.replicas.find((r) => r.num === 0)?.stop).toBeUndefined();
    // The new deployment's replica takes over the number it replaces (a new submission of it).
    expect(effects).toEqual([{ type: 'start', replicaId: 'svc-0-1' }]);
  });
});

describe('unhealthyGraceFromEnv', () => {
  it('reads DSTACK_UNHEALTHY_GRACE_SECONDS (fractions allowed), else 180 s', () => {
    expect(unhealthyGraceFromEnv({})).toBe(180_000);
    expect(unhealthyGraceFromEnv({ DSTACK_UNHEALTHY_GRACE_SECONDS: '1.5' })).toBe(1_500);
    expect(unhealthyGraceFromEnv({ DSTACK_UNHEALTHY_GRACE_SECONDS: 'soon' })).toBe(180_000);
    expect(unhealthyGraceFromEnv({ DSTACK_UNHEALTHY_GRACE_SECONDS: '' })).toBe(180_000);
  });
});
