import { describe, expect, it } from 'vitest';
import { applyAgentRemoved, applyAgentState, applyProbeResult, backoffDelayMs } from '../../../src/core/reconcile/index.js';
import { agentState, replica, settings } from './fixtures.js';

describe('applyAgentState', () => {
  const submitted = replica({ status: 'provisioning', ready: false, hostPort: undefined });

  it.each([
    ['pending', 'provisioning'],
    ['pulling', 'pulling'],
    ['creating', 'pulling'],
    ['running', 'running'],
    ['stopping', 'terminating'],
  ] as const)('agent %s → %s', (phase, status) => {
    expect(applyAgentState(submitted, agentState({ phase }), 1).status).toBe(status);
  });

  it('records the published port and start time when running', () => {
    const next = applyAgentState(submitted, agentState({ phase: 'running', hostPort: 41000, startedAt: 7 }), 9);
    expect([next.hostPort, next.startedAt, next.ready]).toEqual([41000, 7, false]);
  });

  it('non-zero exit → failed with exited (N) and the agent message', () => {
    const next = applyAgentState(replica(), agentState({ phase: 'exited', exitCode: 3, message: 'last lines' }), 9);
    expect([next.status, next.statusMessage, next.reason, next.error, next.exitCode, next.ready]).toEqual([
      'failed', 'exited (3)', 'container_exited_with_error', 'last lines', 3, false,
    ]);
  });

  it('exit 0 → done', () => {
    expect(applyAgentState(replica(), agentState({ phase: 'exited', exitCode: 0 }), 9).status).toBe('done');
  });

  it('agent failure keeps its reason (e.g. IMAGE_NOT_FOUND)', () => {
    const next = applyAgentState(submitted, agentState({ phase: 'failed', reason: 'IMAGE_NOT_FOUND', message: 'no such image' }), 9);
    expect([next.status, next.reason, next.error]).toEqual(['failed', 'IMAGE_NOT_FOUND', 'no such image']);
  });

  it('an exit the daemon asked for → terminated (aborted for an abort)', () => {
    const stopping = replica({ stop: { abort: false, reason: 'stopped_by_user', at: 1 } });
    expect(applyAgentState(stopping, agentState({ phase: 'exited', exitCode: 143 }), 9).status).toBe('terminated');
    const aborting = replica({ stop: { abort: true, reason: 'aborted_by_user', at: 1 } });
    expect(applyAgentState(aborting, agentState({ phase: 'exited', exitCode: 137 }), 9).status).toBe('aborted');
  });

  it('never changes a finished replica', () => {
    const done = replica({ status: 'failed', ready: false });
    expect(applyAgentState(done, agentState({ phase: 'running' }), 9)).toBe(done);
  });

  it('a replica the agent no longer knows → failed (or terminated if being stopped)', () => {
    expect(applyAgentRemoved(replica(), 5).status).toBe('failed');
    expect(applyAgentRemoved(replica({ stop: { abort: false, reason: 'x', at: 1 } }), 5).status).toBe('terminated');
  });
});

describe('probes', () => {
  const probe = { url: '/', method: 'get', headers: [], timeoutSeconds: 1, intervalSeconds: 1, readyAfter: 2, untilReady: false };
  const s = settings({ probes: [probe], tcpCheck: false });

  it('ready only after ready_after consecutive successes', () => {
    let r = replica({ ready: false, probes: [{ successStreak: 0 }] });
    r = applyProbeResult(r, s, 0, true, 1);
    expect(r.ready).toBe(false);
    r = applyProbeResult(r, s, 0, false, 2);
    expect(r.probes[0]?.successStreak).toBe(0);
    r = applyProbeResult(applyProbeResult(r, s, 0, true, 3), s, 0, true, 4);
    expect([r.ready, r.readyAt]).toEqual([true, 4]);
  });

  it('a later failure does not unready a ready replica (probes gate readiness only)', () => {
    const r = applyProbeResult(replica({ ready: true, probes: [{ successStreak: 2 }] }), s, 0, false, 5);
    expect(r.ready).toBe(true);
  });

  it('the TCP check (index -1) makes a running replica ready', () => {
    expect(applyProbeResult(replica({ ready: false }), settings(), -1, true, 3).ready).toBe(true);
  });
});

describe('backoffDelayMs', () => {
  it('follows dstack: 15s, 30s, 1m, 2m, 5m, 10m, capped', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 9].map((n) => backoffDelayMs(n) / 1000)).toEqual([0, 15, 30, 60, 120, 300, 600, 600]);
  });
  it('scales with the base', () => {
    expect(backoffDelayMs(2, 100)).toBe(200);
  });
});
