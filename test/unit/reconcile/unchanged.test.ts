import { describe, expect, it } from 'vitest';
import { applyAgentRemoved, applyAgentState, reconcileRun, sameFields } from '../../../src/core/reconcile/index.js';
import { agentState, ctx, replica, run } from './fixtures.js';

describe('decisions give their input back when nothing changes', () => {
  it('reconcileRun returns the stored run itself for a settled run, and a new one when it decides something', () => {
    const settled = reconcileRun(run({ desiredReplicas: 1, replicas: [replica()] }), ctx(1)).run;
    const again = reconcileRun(settled, ctx(2));
    expect(again.run).toBe(settled);
    expect(again.effects).toEqual([]);
    const scaled = reconcileRun({ ...settled, desiredReplicas: 2 }, ctx(3)).run;
    expect(scaled.replicas).toHaveLength(2);
    // The replica it did not touch keeps its object.
    expect(scaled.replicas[0]).toBe(settled.replicas[0]);
  });

  it('applyAgentState returns the record itself when the agent reports what it already says', () => {
    const r = applyAgentState(replica({ status: 'provisioning', ready: false }), agentState({ startedAt: 5 }), 9);
    expect(r.status).toBe('running');
    expect(applyAgentState(r, agentState({ startedAt: 5 }), 10)).toBe(r);
    expect(applyAgentState(r, agentState({ phase: 'stopping' }), 10)).not.toBe(r);
  });

  it('applyAgentRemoved returns an ended record itself', () => {
    const ended = replica({ status: 'terminated', ready: false });
    expect(applyAgentRemoved(ended, 1)).toBe(ended);
  });
});

describe('sameFields', () => {
  it('compares field by field, an undefined field equal to an absent one, nested values by identity', () => {
    const stop = { abort: false, reason: 'x', at: 1 };
    const base = replica({ stop });
    expect(sameFields(base, { ...base })).toBe(true);
    expect(sameFields(base, { ...base, statusMessage: undefined })).toBe(true);
    expect(sameFields(base, { ...base, statusMessage: 'error' })).toBe(false);
    expect(sameFields(base, { ...base, stop: { ...stop } })).toBe(false);
  });
});
