// What run views show of a stored configuration, and which values the daemon's log masks.
import { describe, expect, it } from 'vitest';
import { maskSecrets, secretValuesOf } from '../../../src/daemon/runs/redact.js';
import { run } from '../reconcile/fixtures.js';

describe('maskSecrets and references', () => {
  it('shows a `${{ secrets.NAME }}` reference as written: it holds no value and says which secret is used', () => {
    const raw = { type: 'service', env: { HF_TOKEN: '${{ secrets.hf_token }}', API_KEY: 'literal-key' }, registry_auth: { username: 'u', password: '${{ secrets.ngc }}' } };
    expect(maskSecrets(raw)).toEqual({ type: 'service', env: { HF_TOKEN: '${{ secrets.hf_token }}', API_KEY: '***' }, registry_auth: { username: 'u', password: '${{ secrets.ngc }}' } });
    expect(maskSecrets({ env: ['HF_TOKEN=${{ secrets.hf }}', 'DB_PASSWORD=x${{ secrets.hf }}'] })).toEqual({ env: ['HF_TOKEN=${{ secrets.hf }}', 'DB_PASSWORD=***'] });
  });

  it('masks a SkyServe task`s `secrets` and its `envs` by name', () => {
    expect(maskSecrets({ service: { readiness_probe: '/' }, secrets: { HF: 'v', EMPTY: null }, envs: { MY_TOKEN: 't', A: 'a' } })).toEqual({
      service: { readiness_probe: '/' },
      secrets: { HF: '***', EMPTY: null },
      envs: { MY_TOKEN: '***', A: 'a' },
    });
  });
});

describe('secretValuesOf', () => {
  it('lists the env values a view masks (caller-supplied or secret-named) and a literal registry password, not references', () => {
    const r = run();
    const record = {
      ...r,
      configRaw: { env: { FROM_CALLER: '***', HF_TOKEN: 'hf-literal', PLAIN: 'p', REF: '${{ secrets.x }}' } },
      specTemplate: { ...r.specTemplate, env: { FROM_CALLER: 'caller-value', HF_TOKEN: 'hf-literal', PLAIN: 'p', REF: '${{ secrets.x }}' }, registryAuth: { username: 'u', password: 'pw-literal' } },
    };
    expect(secretValuesOf(record).sort()).toEqual(['caller-value', 'hf-literal', 'pw-literal']);
    expect(secretValuesOf({ ...record, specTemplate: { ...record.specTemplate, registryAuth: { username: 'u', password: '${{ secrets.pw }}' } } })).not.toContain('${{ secrets.pw }}');
  });
});
