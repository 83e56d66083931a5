import { describe, expect, it } from 'vitest';
import type { RepoInfo } from '../../../src/core/api.js';
import { formatDuration, formatResources, parseConfigObject } from '../../../src/core/config/index.js';
import { activeRun, applyRun, prepareRun, type ApplyInput, type PrepareOptions } from '../../../src/core/runs/index.js';
import type { RunRecord } from '../../../src/core/state/schema.js';
import { replica } from '../reconcile/fixtures.js';

const language: PrepareOptions = {
  parseConfig: (raw) => parseConfigObject(raw, 'svc.dstack.yml'),
  formatResources,
  formatDuration,
  project: 'main',
  env: {},
};
const prepare = (raw: Record<string, unknown> = {}, repo?: RepoInfo) =>
  prepareRun({ type: 'service', name: 'svc', image: 'img', port: 8000, ...raw }, language, undefined, repo);

const T0 = 1_000;
const T1 = 2_000;
const at = (now: number, id: string) => ({ project: 'main', user: 'admin', now, id });
const request = (over: Partial<ApplyInput['request']> = {}) => ({ force: false, ...over });

/** The run a first apply submits, then what the reconciler made of it: running with its replicas. */
async function deployed(raw: Record<string, unknown> = {}, over: Partial<RunRecord> = {}): Promise<RunRecord> {
  const outcome = applyRun({ prepared: await prepare(raw), current: undefined, previous: [], request: request({ configPath: 'svc.dstack.yml' }) }, at(T0, 'run-1'));
  return { ...outcome.run, status: 'running', replicas: [replica({ num: 0 })], ...over };
}

async function reapply(current: RunRecord, raw: Record<string, unknown>, req = request(), repo?: RepoInfo) {
  return applyRun({ prepared: await prepare(raw, repo), current, previous: [current], request: req }, at(T1, 'run-2'));
}

describe('applying a configuration to the runs of its name', () => {
  it('with no run of that name, submits a new run at `now` with the given id', async () => {
    const outcome = applyRun({ prepared: await prepare(), current: undefined, previous: [], request: request({ configPath: 'svc.dstack.yml' }) }, at(T0, 'run-1'));
    expect(outcome.action).toBe('created');
    expect(outcome.run).toMatchObject({
      id: 'run-1', name: 'svc', project: 'main', user: 'admin', configPath: 'svc.dstack.yml', status: 'submitted',
      submittedAt: T0, deployment: 0, desiredReplicas: 1, submissionBase: 0, replicas: [],
    });
    expect(outcome.run.configRaw).toEqual({ type: 'service', name: 'svc', image: 'img', port: 8000 });
    expect(outcome.action === 'created' && outcome.removed).toEqual([]);
  });

  it('a service that starts at zero replicas is pending, not submitted', async () => {
    const outcome = applyRun({ prepared: await prepare({ replicas: '0..2', scaling: { metric: 'rps', target: 1 } }), current: undefined, previous: [], request: request() }, at(T0, 'run-1'));
    expect([outcome.run.status, outcome.run.desiredReplicas]).toEqual(['pending', 0]);
  });

  it('a new run numbers its submissions after every earlier run of the name, and removes the finished ones', async () => {
    const done = await deployed({}, { id: 'old-1', status: 'terminated', replicas: [replica({ submission: 0 }), replica({ submission: 2 })] });
    const later = await deployed({}, { id: 'old-2', status: 'failed', submissionBase: 2, replicas: [] });
    const ending = await deployed({}, { id: 'old-3', status: 'terminating', terminationReason: 'stopped_by_user', replicas: [replica({ submission: 1 })] });
    const previous = [done, later, ending];
    expect(activeRun(previous)).toBeUndefined();
    const outcome = applyRun({ prepared: await prepare(), current: undefined, previous, request: request() }, at(T1, 'run-2'));
    expect(outcome.run.submissionBase).toBe(3);
    expect(outcome.action === 'created' && outcome.removed).toEqual(['old-1', 'old-2']);
  });

  it('the same configuration leaves the active run as it is (the very record)', async () => {
    const current = await deployed();
    const outcome = await reapply(current, {});
    expect(outcome).toEqual({ action: 'unchanged', run: current });
    expect(outcome.run).toBe(current);
  });

  it('`--force` with the same configuration is a new deployment of the same run', async () => {
    const current = await deployed();
    const outcome = await reapply(current, {}, request({ force: true }));
    expect([outcome.action, outcome.run.id, outcome.run.deployment]).toEqual(['updated', 'run-1', 1]);
  });

  it('a changed replica count updates the run in place: no new deployment, the new `min` wanted', async () => {
    const current = await deployed();
    const outcome = await reapply(current, { replicas: 3 });
    expect(outcome.action).toBe('updated');
    expect(outcome.run).toMatchObject({ id: 'run-1', submittedAt: T0, status: 'running', deployment: 0, desiredReplicas: 3, configPath: 'svc.dstack.yml' });
    expect([outcome.run.config.replicas, outcome.run.settings.replicas, outcome.run.replicas]).toEqual([{ min: 3, max: 3 }, { min: 3, max: 3 }, current.replicas]);
    expect(current.desiredReplicas).toBe(1);
  });

  it('a changed spec field rolls out as the next deployment, with the new templates, repo and config path', async () => {
    const current = await deployed();
    const repo = { sha256: 'b'.repeat(64), files: 1, bytes: 10, archivePath: '/a.tar.gz' };
    const outcome = await reapply(current, { env: { A: '1' } }, request({ configPath: 'other.dstack.yml' }), repo);
    expect(outcome.action).toBe('updated');
    expect(outcome.run).toMatchObject({ deployment: 1, configPath: 'other.dstack.yml', repo });
    expect(outcome.run.specTemplate.env).toMatchObject({ A: '1', DSTACK_REPO_DIR: '/workflow' });
  });

  it('with autoscaling, the desired count survives a new range, clamped into it', async () => {
    const scaling = { metric: 'rps', target: 1 };
    const busy = await deployed({ replicas: '0..6', scaling }, { desiredReplicas: 5 });
    expect((await reapply(busy, { replicas: '0..3', scaling })).run.desiredReplicas).toBe(3);
    const quiet = await deployed({ replicas: '0..6', scaling }, { desiredReplicas: 1 });
    expect((await reapply(quiet, { replicas: '2..3', scaling })).run.desiredReplicas).toBe(2);
    expect((await reapply(quiet, { replicas: '0..3', scaling })).run.desiredReplicas).toBe(1);
  });

  it('a field that cannot change in place stops the current run and submits a new one', async () => {
    const current = await deployed();
    const outcome = await reapply(current, { auth: false });
    if (outcome.action !== 'recreated') throw new Error(`expected recreated, got ${outcome.action}`);
    expect(outcome.stopped).toMatchObject({ id: 'run-1', terminationReason: 'stopped_by_user' });
    expect(current.terminationReason).toBeUndefined();
    expect(outcome.run).toMatchObject({ id: 'run-2', submittedAt: T1, deployment: 0, submissionBase: 1, settings: { auth: false } });
    expect(outcome.removed).toEqual([]);
  });
});
