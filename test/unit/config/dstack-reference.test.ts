// Fields of dstack's current `service` / `fleet` reference that were added for its documented examples:
// replica-group `router`, `backend_options`, the fleet `nodes` forms, and `${{ secrets.NAME }}` values.
import { describe, expect, test } from 'vitest';
import { resolveEnv } from '../../../src/core/config/env.js';
import { parseConfigText } from '../../../src/core/config/load.js';
import type { FleetConfig, ServiceConfig } from '../../../src/core/model/index.js';

const service = (text: string) => parseConfigText(`type: service\nport: 8000\n${text}`, 's.yml').config as ServiceConfig;
const fleet = (text: string) => parseConfigText(`type: fleet\n${text}`, 'f.yml').config as FleetConfig;
const error = (text: string) => {
  try {
    parseConfigText(text, 'c.yml');
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
};

const PD = `image: lmsysorg/sglang
replicas:
  - count: 1
    commands: [smg launch --port 8000]
    router:
      type: sglang
  - name: prefill
    count: 1..4
    scaling: {metric: rps, target: 3}
    commands: [prefill]
`;

describe('replica group router', () => {
  test('parses, with `sglang` as the default type', () => {
    const c = service(PD);
    expect(c.groups?.map((g) => g.router)).toEqual([{ type: 'sglang' }, undefined]);
    expect(service(PD.replace('type: sglang', 'type: dynamo')).groups?.[0]?.router).toEqual({ type: 'dynamo' });
    expect(service(PD.replace('      type: sglang', '      {}').replace('router:\n', 'router:')).groups?.[0]?.router).toEqual({ type: 'sglang' });
  });
  test('dstack\'s rules: one router group, with exactly one replica, and a known type', () => {
    expect(error(`type: service\nport: 8000\n${PD.replace('count: 1\n', 'count: 2\n')}`)).toBe(
      'c.yml:8:7 replicas[0].router: For now replica group with `router` must have `replicas: 1`.',
    );
    const two = `${PD}    router: {type: dynamo}\n`.replace('count: 1..4', 'count: 1').replace('    scaling: {metric: rps, target: 3}\n', '');
    expect(error(`type: service\nport: 8000\n${two}`)).toBe('c.yml:12:13 replicas[1].router: At most one replica group may specify `router`.');
    expect(error(`type: service\nport: 8000\n${PD.replace('type: sglang', 'type: vllm')}`)).toBe('c.yml:8:13 replicas[0].router.type: expected `sglang` or `dynamo`');
  });
});

describe('backend_options', () => {
  test('vastai options on services and fleets', () => {
    const options = 'backend_options:\n  - type: vastai\n    offer_order: price\n    min_reliability: 0.95\n    min_score: 200\n';
    expect(service(`commands: [x]\n${options}`).backend_options).toEqual([{ type: 'vastai', offer_order: 'price', min_reliability: 0.95, min_score: 200 }]);
    expect(fleet(`nodes: 1\n${options}`).backend_options).toEqual([{ type: 'vastai', offer_order: 'price', min_reliability: 0.95, min_score: 200 }]);
    expect(service('commands: [x]\n').backend_options).toBeUndefined();
  });
  test('errors', () => {
    expect(error('type: fleet\nnodes: 1\nbackend_options: [{type: aws}]\n')).toBe('c.yml:3:26 backend_options[0].type: expected `type: vastai` (the only backend with options)');
    expect(error('type: fleet\nnodes: 1\nbackend_options: [{type: vastai, min_reliability: 2}]\n')).toMatch(/^c\.yml:3:51 backend_options\[0\]\.min_reliability: /);
    expect(error('type: fleet\nnodes: 1\nbackend_options: [{type: vastai}, {type: vastai}]\n')).toBe(
      "c.yml:3:42 backend_options[1].type: backend_options contains duplicate entry for backend 'vastai'",
    );
  });
});

describe('fleet nodes', () => {
  test.each([
    ['2', { min: 2, max: 2, target: 2 }],
    ['"3"', { min: 3, max: 3, target: 3 }],
    ['0..2', { min: 0, max: 2, target: 0 }],
    ['0..', { min: 0, target: 0 }],
    ['2..', { min: 2, target: 2 }],
    ['..3', { min: 0, max: 3, target: 0 }],
    ['{min: 2, max: 10, target: 6}', { min: 2, max: 10, target: 6 }],
    ['{min: 0, target: 2}', { min: 0, target: 2 }],
    ['{max: 4}', { min: 0, max: 4, target: 0 }],
  ])('nodes: %s', (nodes, expected) => {
    expect(fleet(`nodes: ${nodes}\n`).nodes).toEqual(expected);
  });
  test.each([
    ['{min: 2, target: 1}', 'c.yml:2:25 nodes.target: `target` must not be less than `min`'],
    ['{min: 2, max: 1}', 'c.yml:2:22 nodes.max: `max` must not be less than `min`'],
    ['{target: 5, max: 4}', 'c.yml:2:25 nodes.max: `max` must not be less than `target`'],
    ['3..1', 'c.yml:2:8 nodes: invalid nodes range: the minimum is greater than the maximum'],
    ['-1', 'c.yml:2:8 nodes: must be 0 or more'],
    ['{min: 1, trgt: 2}', 'c.yml:2:17 nodes.trgt: unknown field `trgt`; did you mean `target`?'],
  ])('nodes: %s is rejected', (nodes, message) => {
    expect(error(`type: fleet\nnodes: ${nodes}\n`)).toBe(message);
  });
});

describe('${{ secrets.NAME }}', () => {
  const text = `type: service
port: 8000
image: nvcr.io/nim/deepseek
env:
  - HF_TOKEN=\${{ secrets.hf_token }}
registry_auth:
  username: $oauthtoken
  password: \${{ secrets.ngc_api_key }}
`;
  test('parses as a plain string in env and registry_auth', () => {
    const c = parseConfigText(text, 's.yml').config as ServiceConfig;
    expect(c.env).toEqual({ HF_TOKEN: '${{ secrets.hf_token }}' });
    expect(c.registry_auth).toEqual({ username: '$oauthtoken', password: '${{ secrets.ngc_api_key }}' });
  });
  test('is left for the server when the CLI resolves env for apply', () => {
    const loaded = parseConfigText(text, 's.yml', { env: { overrides: {}, processEnv: {} } });
    expect(loaded.raw).toMatchObject({ env: { HF_TOKEN: '${{ secrets.hf_token }}' }, registry_auth: { password: '${{ secrets.ngc_api_key }}' } });
  });
});
