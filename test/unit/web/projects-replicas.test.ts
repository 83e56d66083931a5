import { describe, expect, it } from 'vitest';
import { hrefOf, inProject, parseRoute } from '../../../src/web/router.js';
import { scopedPath } from '../../../src/web/paths.js';
import { replicaColumns, type HistoryPoint } from '../../../src/web/history-data.js';

describe('project routes', () => {
  it.each([
    ['#/projects/team/runs', { page: 'runs', project: 'team' }],
    ['#/projects/team', { page: 'runs', project: 'team' }],
    ['#/projects/team/runs/svc', { page: 'run', name: 'svc', project: 'team' }],
    ['#/projects/a%20b/models/org/m', { page: 'models', model: 'org/m', project: 'a b' }],
    ['#/projects/team/fleets/', { page: 'fleets', project: 'team' }],
    ['#/projects/', { page: 'runs' }],
  ])('%s is %o', (hash, route) => {
    expect(parseRoute(hash)).toStrictEqual(route);
  });

  it('writes project URLs it reads back, and switching project keeps the section but not the run or model', () => {
    for (const route of [{ page: 'run', name: 'x y', project: 'p/q' }, { page: 'offers', project: 'team' }, { page: 'models', model: 'a/b', project: 't' }] as const) {
      expect(parseRoute(hrefOf(route))).toStrictEqual(route);
    }
    expect(inProject({ page: 'run', name: 'svc' }, 'team')).toStrictEqual({ page: 'runs', project: 'team' });
    expect(inProject({ page: 'models', model: 'm', project: 'team' }, undefined)).toStrictEqual({ page: 'models' });
    expect(hrefOf(inProject({ page: 'fleets', project: 'a' }, 'b'))).toBe('#/projects/b/fleets');
  });

  it('sends a project’s routes to /api/projects/<p>/… and leaves the account routes alone', () => {
    expect(scopedPath('/api/runs?all=1', 'team')).toBe('/api/projects/team/runs?all=1');
    expect(scopedPath('/api/runs/svc/restart', 'a b')).toBe('/api/projects/a%20b/runs/svc/restart');
    expect(scopedPath('/api/offers?gpu=A100', 'team')).toBe('/api/projects/team/offers?gpu=A100');
    expect(scopedPath('/api/projects', 'team')).toBe('/api/projects');
    expect(scopedPath('/api/me', 'team')).toBe('/api/me');
    expect(scopedPath('/api/runsx', 'team')).toBe('/api/runsx');
    expect(scopedPath('/api/runs', undefined)).toBe('/api/runs');
  });
});

describe('per-replica plot columns', () => {
  const p = (t: number, replicas?: HistoryPoint['replicas']): HistoryPoint => ({ t, rps: 0, inFlight: 0, p50: 0, p99: 0, desired: 1, ready: 1, ...(replicas ? { replicas } : {}) });

  it('gives one line per replica that had the figure, with gaps where it had none', () => {
    const points = [p(5, { '0': { cpu: 10, memoryMiB: 50 } }), p(10), p(15, { '10': { cpu: 3, memoryMiB: 1 }, '0': { cpu: 12, memoryMiB: 51 }, '2': { cpu: 1, memoryMiB: 2 } })];
    expect(replicaColumns(points, 'cpu')).toEqual({
      labels: ['0', '2', '10'],
      data: [[5, 10, 15], [10, null, 12], [null, null, 1], [null, null, 3]],
    });
    expect(replicaColumns(points, 'gpu')).toEqual({ labels: [], data: [[5, 10, 15]] });
  });
});
