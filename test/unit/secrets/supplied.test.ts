// Values the CLI takes from its caller (`env: - NAME`, -e, ${{ env.NAME }}) are named by key path and stored masked.
import { describe, expect, it } from 'vitest';
import { resolveEnv } from '../../../src/core/config/env.js';
import { callerSuppliedPaths, maskPaths, MASK } from '../../../src/core/secrets/supplied.js';

describe('callerSuppliedPaths', () => {
  it('names bare env names, -e overrides and ${{ env.X }} in registry_auth and probes', () => {
    const raw = {
      type: 'service',
      env: ['HF_TOKEN', 'MODEL=m', 'PORT=8000'],
      registry_auth: { username: 'u', password: '${{ env.REG_PW }}' },
      probes: [{ url: '/health', headers: [{ name: 'Authorization', value: 'Bearer ${{ env.PROBE }}' }] }],
    };
    expect(callerSuppliedPaths(raw, { MODEL: 'other' })).toEqual([
      ['env', 'HF_TOKEN'],
      ['env', 'MODEL'],
      ['registry_auth', 'password'],
      ['probes', 0, 'headers', 0, 'value'],
    ]);
  });

  it('reads the map form (KEY: null) and a SkyServe file`s envs', () => {
    expect(callerSuppliedPaths({ type: 'service', env: { A: null, B: 'b' } })).toEqual([['env', 'A']]);
    expect(callerSuppliedPaths({ service: { readiness_probe: '/' }, envs: { TOKEN: null } })).toEqual([['envs', 'TOKEN']]);
  });

  it('masks exactly those values in what resolveEnv sends, and nothing else', () => {
    const raw = { type: 'service', env: ['HF_TOKEN', 'MODEL=m'], registry_auth: { username: 'u', password: '${{ env.REG_PW }}' } };
    const overrides = { EXTRA: 'from-flag' };
    const sent = resolveEnv(raw, overrides, { HF_TOKEN: 'hf-from-env', REG_PW: 'pw-from-env' });
    const stored = maskPaths(sent, callerSuppliedPaths(raw, overrides));
    expect(stored).toEqual({ type: 'service', env: { HF_TOKEN: MASK, MODEL: 'm', EXTRA: MASK }, registry_auth: { username: 'u', password: MASK } });
    expect(JSON.stringify(stored)).not.toMatch(/from-env|from-flag/);
    expect((sent as { env: Record<string, string> }).env.HF_TOKEN).toBe('hf-from-env');
  });
});

describe('maskPaths', () => {
  it('skips paths that lead nowhere or to something that is not a string', () => {
    const value = { env: { A: 'a' }, n: 1 };
    expect(maskPaths(value, [['env', 'B'], ['n'], ['x', 'y', 0], []])).toEqual(value);
  });
});
