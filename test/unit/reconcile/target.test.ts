import { describe, expect, it } from 'vitest';
import { needsPlacement, replicaSpec, replicaTarget } from '../../../src/core/reconcile/index.js';
import { replica, run } from './fixtures.js';

describe('replicaTarget', () => {
  it('sends fleet runs to placement, other runs to this machine, and everything to the single backend without fleet support', () => {
    expect(replicaTarget(true, { kind: 'composite', instance: 'local' })).toEqual({ backend: 'ssh' });
    expect(replicaTarget(false, { kind: 'composite', instance: 'local' })).toEqual({ backend: 'local', instance: 'local' });
    expect(replicaTarget(undefined, { kind: 'ssh', instance: 'box' })).toEqual({ backend: 'ssh', instance: 'box' });
    expect(replicaTarget(undefined, { kind: 'local', instance: undefined })).toEqual({ backend: 'local', instance: 'local' });
  });

  it('places only fleet replicas, and only where the daemon supports fleets', () => {
    expect(needsPlacement(replica({ backend: 'ssh' }), true)).toBe(true);
    expect(needsPlacement(replica({ backend: 'local' }), true)).toBe(false);
    expect(needsPlacement(replica({ backend: 'ssh' }), false)).toBe(false);
  });
});

describe('replicaSpec', () => {
  it("takes the replica's group template, its id and number, and the limits of its placement in whole bytes", () => {
    const base = run();
    const r = run({ specTemplates: { big: { ...base.specTemplate, image: 'big-img' } } });
    const spec = replicaSpec(r, replica({ num: 3, group: 'big' }), { cpuLimit: 2, memoryLimitBytes: 1000.5, gpus: { vendor: 'nvidia', ids: ['0'] } });
    expect(spec).toMatchObject({ image: 'big-img', id: 'svc-3-0', replicaNum: 3, cpuLimit: 2, memoryLimitBytes: 1000, gpus: { ids: ['0'] } });
    expect(replicaSpec(r, replica())).toMatchObject({ image: 'img', id: 'svc-0-0' });
    expect(replicaSpec(r, replica()).cpuLimit).toBeUndefined();
  });
});
