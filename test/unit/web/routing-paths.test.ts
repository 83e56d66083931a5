import { describe, expect, it } from 'vitest';
import { hrefOf, parseRoute, sectionOf } from '../../../src/web/router.js';
import { logsPath, offersQuery, runPath } from '../../../src/web/paths.js';

describe('dashboard routes', () => {
  it.each([
    ['', { page: 'runs' }],
    ['#/', { page: 'runs' }],
    ['#/runs', { page: 'runs' }],
    ['#/runs/', { page: 'runs' }],
    ['#/runs/my-svc', { page: 'run', name: 'my-svc' }],
    ['#/runs/a%20b', { page: 'run', name: 'a b' }],
    ['#/fleets', { page: 'fleets' }],
    ['#/offers/', { page: 'offers' }],
    ['#/nothing', { page: 'runs' }],
    ['#/runs/%E0%A4%A', { page: 'runs' }],
  ])('%s is %o', (hash, route) => {
    expect(parseRoute(hash)).toEqual(route);
  });

  it('writes a URL each route reads back, and a run page belongs under Runs', () => {
    for (const route of [{ page: 'runs' }, { page: 'run', name: 'x/y z' }, { page: 'fleets' }, { page: 'offers' }] as const) {
      expect(parseRoute(hrefOf(route))).toEqual(route);
    }
    expect(sectionOf({ page: 'run', name: 'x' })).toBe('runs');
  });
});

describe('control API paths', () => {
  it('escapes run names and asks for followed logs of one replica', () => {
    expect(runPath('a/b', '/stop')).toBe('/api/runs/a%2Fb/stop');
    expect(logsPath('svc', 2)).toBe('/api/runs/svc/logs?replica=2&follow=1');
  });

  it('leaves empty offer filters out and names them as the API reads them', () => {
    expect(offersQuery({ gpu: '', backend: ' ', spot: '' })).toBe('/api/offers?max_offers=50');
    expect(offersQuery({ gpu: 'A100:80GB:2', backend: 'aws', spot: 'spot' }, 5)).toBe('/api/offers?gpu=A100%3A80GB%3A2&backend=aws&spot_policy=spot&max_offers=5');
  });
});
