import { describe, expect, it } from 'vitest';
import {
  buildGroupSpecTemplates,
  buildSettings,
  checkSupport,
  desiredOf,
  groupStates,
  setDesired,
} from '../../../src/core/runs/index.js';
import type { RunRecord } from '../../../src/core/state/schema.js';
import { settings } from '../reconcile/fixtures.js';
import { scalingOf, serviceConfig } from '../../helpers/configs.js';

type Desired = Pick<RunRecord, 'settings' | 'desiredReplicas' | 'desiredByGroup'>;

const scaling = { metric: 'rps', target: 5, window: '30s', scale_up_delay: '0s', scale_down_delay: '5s' };
const raw = {
  type: 'service',
  name: 'mixed',
  port: 8000,
  image: 'dstack-test/node:latest',
  groups: [
    { name: 'web', replicas: '0..3', scaling, commands: ['node /srv/http-echo.mjs'] },
    { name: 'batch', count: 2, image: 'dstack-test/python:latest', commands: ['python3 -m http.server 8000'], privileged: true },
  ],
};

const parsed = (config: Record<string, unknown> = raw) => serviceConfig(config);

describe('replica groups in settings and spec templates', () => {
  it('each group keeps its own range and scaling; the run range is their sum', () => {
    const s = buildSettings(parsed());
    expect(s.replicas).toEqual({ min: 2, max: 5 });
    expect(s.autoscaling).toBe(true);
    expect(s.groups).toEqual([
      { name: 'web', replicas: { min: 0, max: 3 }, autoscaling: true, scaling: { metric: 'rps', target: 5, window: 30, scale_up_delay: 0, scale_down_delay: 5 } },
      { name: 'batch', replicas: { min: 2, max: 2 }, autoscaling: false },
    ]);
  });

  it('the legacy `replicas: [..]` list means the same groups, named by index', () => {
    const { groups: _g, ...rest } = raw;
    const s = buildSettings(parsed({ ...rest, replicas: raw.groups.map(({ name: _n, ...g }) => g) }));
    expect(s.groups?.map((g) => [g.name, g.replicas])).toEqual([['0', { min: 0, max: 3 }], ['1', { min: 2, max: 2 }]]);
  });

  it('each group gets its own commands, image and privileged over the top-level fields', () => {
    const templates = buildGroupSpecTemplates(parsed(), { project: 'main', runName: 'mixed', env: {} });
    expect(Object.keys(templates ?? {})).toEqual(['web', 'batch']);
    expect([templates?.web?.image, templates?.web?.commands, templates?.web?.privileged]).toEqual(['dstack-test/node:latest', ['node /srv/http-echo.mjs'], false]);
    expect([templates?.batch?.image, templates?.batch?.commands, templates?.batch?.privileged]).toEqual(['dstack-test/python:latest', ['python3 -m http.server 8000'], true]);
    expect(buildGroupSpecTemplates(parsed({ ...raw, groups: undefined, commands: ['x'] }), { project: 'main', runName: 'mixed', env: {} })).toBeUndefined();
  });

  it('a group without `resources` inherits the service\'s; a group with its own keeps them (placement uses them)', () => {
    const config = parsed({ ...raw, resources: { cpu: '1..', memory: '0.5GB..' }, groups: [raw.groups[0], { ...raw.groups[1], resources: { memory: '64GB..' } }] });
    const [web, batch] = config.groups ?? [];
    expect(web?.resources).toBeUndefined();
    expect(config.resources.cpu.count.min).toBe(1);
    expect(batch?.resources?.memory.min).toBe(64 * 1024 ** 3);
    // Fields the group leaves out take dstack's defaults, as a top-level `resources` would.
    expect(batch?.resources?.cpu.count.min).toBe(2);
  });

  it('groups are supported; a group asking for Docker-in-Docker is refused by name', () => {
    expect(checkSupport(raw, parsed()).errors).toEqual([]);
    const dind = { ...raw, groups: [{ ...raw.groups[1], image: undefined, docker: true }] };
    expect(checkSupport(dind, parsed(dind)).errors).toEqual(['replica groups with `docker: true` are not supported yet (Docker-in-Docker)']);
    const gpuGroup = { ...raw, groups: [{ ...raw.groups[1], resources: { gpu: 1 } }] };
    expect(checkSupport(gpuGroup, parsed(gpuGroup)).errors[0]).toMatch(/^`GPUs on the local backend` is not supported yet/);
    expect(checkSupport(gpuGroup, parsed(gpuGroup), { fleets: true }).errors).toEqual([]);
  });
});

describe('desired counts per group', () => {
  const s = settings({
    replicas: { min: 2, max: 5 },
    autoscaling: true,
    groups: [
      { name: 'web', replicas: { min: 0, max: 3 }, autoscaling: true, scaling: scalingOf() },
      { name: 'batch', replicas: { min: 2, max: 2 }, autoscaling: false },
    ],
  });

  it('a group never scaled wants its min; numbers are allotted in blocks of the groups maxima', () => {
    expect(groupStates({ settings: s, desiredReplicas: 2 }).map((g) => [g.name, g.desired, g.firstNum])).toEqual([['web', 0, 0], ['batch', 2, 3]]);
  });

  it('setDesired clamps one group to its range and keeps the run total the sum', () => {
    const run: Desired = { settings: s, desiredReplicas: 2 };
    const up = setDesired(run, 7, 'web');
    expect([up.desiredByGroup, up.desiredReplicas]).toEqual([{ web: 3, batch: 2 }, 5]);
    expect(desiredOf(up, 'web')).toBe(3);
    expect(setDesired(up, 9, 'batch').desiredByGroup).toEqual({ web: 3, batch: 2 });
    expect(setDesired(up, 1, 'nope')).toBe(up);
  });

  it('without a group (the proxy cold start), the first group with a range is meant', () => {
    const cold = setDesired<Desired>({ settings: s, desiredReplicas: 2 }, 1);
    expect([cold.desiredByGroup, cold.desiredReplicas, desiredOf(cold)]).toEqual([{ web: 1, batch: 2 }, 3, 1]);
  });

  it('a run without groups is one group "0" whose count is desiredReplicas, as before', () => {
    const plain = { settings: settings({ replicas: { min: 0, max: 3 }, autoscaling: true }), desiredReplicas: 1 };
    expect(groupStates(plain).map((g) => [g.name, g.desired, g.firstNum])).toEqual([['0', 1, 0]]);
    const next = setDesired(plain, 5);
    expect([next.desiredReplicas, 'desiredByGroup' in next]).toEqual([3, false]);
  });
});
