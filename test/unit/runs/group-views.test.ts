import { describe, expect, it } from 'vitest';
import { toRunView } from '../../../src/daemon/runs/views.js';
import { replica, run, settings } from '../reconcile/fixtures.js';

describe('RunView of a run with replica groups', () => {
  const scaling = { metric: 'rps' as const, target: 5, window: 30, scale_up_delay: 0, scale_down_delay: 5 };
  const grouped = run({
    settings: settings({
      replicas: { min: 1, max: 4 },
      autoscaling: true,
      groups: [
        { name: 'web', replicas: { min: 0, max: 3 }, autoscaling: true, scaling },
        { name: 'fixed', replicas: { min: 1, max: 1 }, autoscaling: false },
      ],
    }),
    desiredReplicas: 3,
    desiredByGroup: { web: 2, fixed: 1 },
    replicas: [replica({ num: 0, group: 'web' }), replica({ num: 1, group: 'web', status: 'provisioning', ready: false }), replica({ num: 3, group: 'fixed' })],
  });

  it('lists each group with running/desired replicas, its range and the rps over its own window', () => {
    const windows: number[] = [];
    const view = toRunView(grouped, { baseUrl: 'http://x', rps: (_p, _r, w = 60) => (windows.push(w), w / 10) });
    expect(view.groups).toEqual([
      { name: 'web', running: 1, desired: 2, min: 0, max: 3, rps: 3 },
      { name: 'fixed', running: 1, desired: 1, min: 1, max: 1, rps: 6 },
    ]);
    expect(view.replicas.map((r) => r.group)).toEqual(['web', 'web', 'fixed']);
    expect(windows).toEqual([30, 30, 60]);
  });

  it('a run without groups has no group fields', () => {
    const view = toRunView(run({ replicas: [replica()] }), { baseUrl: 'http://x' });
    expect(['groups' in view, view.replicas.some((r) => 'group' in r)]).toEqual([false, false]);
  });
});
