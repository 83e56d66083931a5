// `fallback` (our extension, SkyServe's on-demand fallback): parsed with defaults, and every misuse named by line,
// column and key.
import { describe, expect, test } from 'vitest';
import { parseConfigText } from '../../../src/core/config/load.js';
import type { ServiceConfig } from '../../../src/core/model/index.js';

const doc = (c: string) => `type: service\nport: 8000\ncommands: [python app.py]\n${c}\n`;
const parse = (c: string) => parseConfigText(doc(c), 's.yml').config as ServiceConfig;
const error = (c: string) => {
  try {
    parseConfigText(doc(c), 's.yml');
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
};

describe('fallback', () => {
  test('parses with spot_policy spot or auto; omitted keys default to no base and no dynamic cover', () => {
    expect(parse('replicas: 3\nspot_policy: auto\nfallback: {on_demand_base: 1, dynamic: true}').fallback).toEqual({ on_demand_base: 1, dynamic: true });
    expect(parse('replicas: 2\nspot_policy: spot\nfallback: {dynamic: true}').fallback).toEqual({ on_demand_base: 0, dynamic: true });
    expect(parse('replicas: 0..4\nscaling: {metric: rps, target: 1}\nspot_policy: spot\nfallback: {on_demand_base: 4}').fallback).toEqual({ on_demand_base: 4, dynamic: false });
    expect(parse('replicas: 2').fallback).toBeUndefined();
  });

  test.each([
    ['replicas: 3\nfallback: {dynamic: true}', '5:11 fallback: `fallback` needs `spot_policy: spot` or `auto` (with `on-demand` every replica is already on demand)'],
    ['replicas: 3\nspot_policy: on-demand\nfallback: {on_demand_base: 1}', '6:11 fallback: `fallback` needs `spot_policy: spot` or `auto` (with `on-demand` every replica is already on demand)'],
    ['replicas: 2\nspot_policy: spot\nfallback: {on_demand_base: 3}', '6:28 fallback.on_demand_base: must be at most the maximum number of replicas (2); got 3'],
    ['spot_policy: spot\nfallback: {on_demand_base: 2}', '5:28 fallback.on_demand_base: must be at most the maximum number of replicas (1); got 2'],
    ['replicas: 2\nspot_policy: spot\nfallback: {on_demand_base: -1}', '6:28 fallback.on_demand_base: must be at least 0'],
    ['replicas: 2\nspot_policy: spot\nfallback: {dynamic: yes}', '6:21 fallback.dynamic: expected `true` or `false`, got `yes`'],
    ['replicas: 2\nspot_policy: spot\nfallback: {on_demand: 1}', '6:12 fallback.on_demand: unknown field `on_demand`; did you mean `on_demand_base`?'],
  ])('%s', (yaml, expected) => expect(error(yaml)).toBe(`s.yml:${expected}`));

  test('is refused with replica groups', () => {
    expect(error('spot_policy: spot\nfallback: {dynamic: true}\ngroups: [{name: a, replicas: 1, commands: [x]}]')).toContain('fallback: `fallback` is not supported with replica groups yet');
  });
});
