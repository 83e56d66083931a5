import { describe, expect, it } from 'vitest';
import { buildSettings, checkSupport, diffConfigs, setDesired } from '../../../src/core/runs/index.js';
import { service } from './fixtures.js';
import { scalingOf, serviceConfig } from '../../helpers/configs.js';

describe('buildSettings', () => {
  it('no probes → TCP readiness check', () => {
    const s = buildSettings(service());
    expect([s.probes, s.tcpCheck]).toEqual([[], true]);
  });

  it('model without probes → dstack default probe on <prefix>/chat/completions', () => {
    const s = buildSettings(service({ model: { type: 'chat', name: 'llama', format: 'openai', prefix: '/v1' } }));
    expect(s.probes).toEqual([
      expect.objectContaining({ url: '/v1/chat/completions', method: 'post', timeoutSeconds: 30, readyAfter: 1 }),
    ]);
    expect(JSON.parse(s.probes[0]!.body!)).toEqual({ model: 'llama', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 });
    expect(s.model).toEqual({ name: 'llama', format: 'openai', prefix: '/v1' });
  });

  it('replica range with scaling starts at min and lets the autoscaler move within [min, max]', () => {
    const s = buildSettings(service({ replicas: '0..3', scaling: scalingOf({ target: 10 }) }));
    expect([s.replicas, s.autoscaling]).toEqual([{ min: 0, max: 3 }, true]);
    const run = { desiredReplicas: 0, settings: s };
    expect(setDesired(run, 7).desiredReplicas).toBe(3);
    expect(setDesired(run, -1).desiredReplicas).toBe(0);
  });

  it('retry, max_duration and stop_duration in seconds', () => {
    const s = buildSettings(service({ retry: { on_events: ['error'], duration: 600 }, max_duration: 7200, stop_duration: 'off' }));
    expect([s.retry, s.maxDurationSeconds, s.stopDurationSeconds]).toEqual([{ onEvents: ['error'], durationSeconds: 600 }, 7200, 3600]);
  });
});

describe('checkSupport', () => {
  it('errors for fields whose behaviour would change if ignored, warnings for harmless ones', () => {
    const raw = { type: 'service', backends: ['aws'], schedule: { cron: '* * * * *' }, max_price: 1, regions: ['x'], gateway: 'gw' };
    const r = checkSupport(raw, service());
    expect(r.errors).toEqual([
      '`backends` is not supported yet (only `local` and SSH fleets (`ssh`, `remote`) exist; got aws)',
      '`schedule` is not supported yet',
      '`gateway` is not supported yet (services are published by the local proxy)',
    ]);
    expect(r.warnings).toEqual([
      '`regions` is ignored: this machine and SSH fleet hosts have no regions',
      '`max_price` has no effect: this machine and SSH fleet hosts cost nothing (price 0)',
    ]);
  });

  it('GPUs, `cpu: arm` and `instance_types` are for fleet hosts: refused or ignored only when the run stays on this machine', () => {
    const gpu = serviceConfig({ image: undefined, commands: ['x'], resources: { gpu: '24GB:2', cpu: 'arm:4' }, instance_types: ['a'] });
    const raw = { type: 'service', instance_types: ['a'] };
    const local = checkSupport(raw, gpu);
    expect(local.errors).toEqual([
      '`GPUs on the local backend` is not supported yet (add your GPU hosts as an SSH fleet: `dstack apply -f fleet.dstack.yml`)',
      ...(process.arch === 'arm64' ? [] : ['`cpu: arm` does not match this x86 machine']),
    ]);
    expect(local.warnings).toEqual(['`instance_types` is ignored by the local backend']);
    expect(checkSupport(raw, gpu, { fleets: true })).toEqual({ errors: [], warnings: [] });
  });

  it('reports only what the user wrote (normalized defaults are not reported)', () => {
    expect(checkSupport({ type: 'service', port: 8000, commands: ['x'] }, service())).toEqual({ errors: [], warnings: [] });
  });

  it('network volumes are an error, instance volumes are fine', () => {
    const r = checkSupport({}, service({ volumes: ['v:/v'] }));
    expect(r.errors[0]).toMatch(/^`network volumes` is not supported yet/);
  });
});

describe('diffConfigs', () => {
  const base = { type: 'service', name: 'a', port: 8000, replicas: { min: 1, max: 1 }, env: { A: '1' }, auth: true };
  it('identical → none', () => {
    expect(diffConfigs(base, { ...base })).toEqual({ action: 'none', changes: [], redeploy: false });
  });
  it('replicas → update in place, no redeploy', () => {
    expect(diffConfigs(base, { ...base, replicas: { min: 2, max: 2 } })).toEqual({ action: 'update', changes: ['replicas (in place)'], redeploy: false });
  });
  it('env → rolling deployment', () => {
    expect(diffConfigs(base, { ...base, env: { A: '2' } })).toEqual({ action: 'update', changes: ['env (rolling deployment)'], redeploy: true });
  });
  it('auth → recreate', () => {
    expect(diffConfigs(base, { ...base, auth: false }).action).toBe('recreate');
  });
  it('key order does not matter', () => {
    expect(diffConfigs({ env: { A: '1', B: '2' } }, { env: { B: '2', A: '1' } }).action).toBe('none');
  });
});
