import { describe, expect, it } from 'vitest';
import { adoptReplicaState, adoptSnapshot } from '../../../src/core/reconcile/index.js';
import { agentState, replica } from './fixtures.js';

const none = new Set<string>();

describe('adoptSnapshot', () => {
  it('gives stored replicas the state the agent reports, and leaves unchanged ones out', () => {
    const pulling = replica({ num: 0, status: 'pulling', ready: false, agentPhase: 'pulling', runtime: 'docker' });
    const running = replica({ num: 1, agentPhase: 'running', runtime: 'docker', hostPort: 40001, startedAt: 1 });
    const agent = [agentState({ id: 'svc-0-0', phase: 'running', hostPort: 40000, startedAt: 7 }), agentState({ id: 'svc-1-0', replicaNum: 1, phase: 'running', hostPort: 40001 })];
    const result = adoptSnapshot({ stored: [pulling, running], agent, busy: none, now: 10 });
    expect(result.updated).toEqual([{ ...pulling, status: 'running', agentPhase: 'running', statusMessage: undefined, startedAt: 7 }]);
    expect(result.removed).toEqual([]);
    expect(result.leftovers).toEqual([]);
  });

  it('ends the stored replicas the agent no longer has, except unsent, busy or already ended ones', () => {
    const stored = [
      replica({ num: 0 }),
      replica({ num: 1, status: 'submitted', ready: false }),
      replica({ num: 2, status: 'provisioning', ready: false }),
      replica({ num: 3, status: 'failed', ready: false }),
      replica({ num: 4, stop: { abort: false, reason: 'scaled_down', at: 1 }, status: 'terminating', ready: false }),
    ];
    const result = adoptSnapshot({ stored, agent: [], busy: new Set(['svc-2-0']), now: 10 });
    expect(result.removed.map((r) => [r.id, r.status, r.reason, r.finishedAt])).toEqual([
      ['svc-0-0', 'failed', 'instance_unreachable', 10],
      ['svc-4-0', 'terminated', 'scaled_down', 10],
    ]);
    expect(result.updated).toEqual([]);
  });

  it('names what the agent runs that state does not want: unknown replicas and ones state has ended', () => {
    const failedOver = replica({ num: 0, status: 'failed', ready: false, reason: 'instance_unreachable' });
    const agent = [agentState({ id: 'svc-0-0' }), agentState({ id: 'other-3-0' }), agentState({ id: 'being-started-0-0' })];
    const result = adoptSnapshot({ stored: [failedOver], agent, busy: new Set(['being-started-0-0']), now: 10 });
    expect(result.leftovers).toEqual(['svc-0-0', 'other-3-0']);
    expect(result.updated).toEqual([]);
  });

  it('keeps the exited container of an ended replica (for `dstack logs`)', () => {
    const done = replica({ status: 'failed', ready: false });
    const result = adoptSnapshot({ stored: [done], agent: [agentState({ phase: 'exited', exitCode: 1 })], busy: none, now: 10 });
    expect(result).toEqual({ updated: [], removed: [], leftovers: [] });
  });
});

describe('adoptReplicaState', () => {
  it('folds a change into an active replica, even one with an operation in flight', () => {
    const starting = replica({ status: 'provisioning', ready: false });
    const { updated, leftover } = adoptReplicaState(starting, agentState({ phase: 'pulling' }), new Set([starting.id]), 3);
    expect(updated?.status).toBe('pulling');
    expect(leftover).toBe(false);
  });

  it('reports no update when the state changes nothing', () => {
    const r = replica({ agentPhase: 'running', runtime: 'docker', startedAt: 1 });
    expect(adoptReplicaState(r, agentState({ hostPort: r.hostPort }), none, 3)).toEqual({ leftover: false });
  });

  it('stops an unknown replica unless an operation on it is in flight', () => {
    expect(adoptReplicaState(undefined, agentState({ id: 'x-0-0' }), none, 3).leftover).toBe(true);
    expect(adoptReplicaState(undefined, agentState({ id: 'x-0-0' }), new Set(['x-0-0']), 3).leftover).toBe(false);
  });
});
