import { describe, expect, it } from 'vitest';
import { maskSecrets } from './redact.js';

describe('maskSecrets', () => {
  it('masks the registry password and secret-looking env values, in both env spellings', () => {
    const raw = { type: 'service', registry_auth: { username: 'u', password: 'p' }, env: { HF_TOKEN: 'hf', MODEL: 'm', DB_PASSWORD: 'x' } };
    expect(maskSecrets(raw)).toEqual({ type: 'service', registry_auth: { username: 'u', password: '***' }, env: { HF_TOKEN: '***', MODEL: 'm', DB_PASSWORD: '***' } });
    expect(maskSecrets({ env: ['OPENAI_API_KEY=sk-1', 'PORT=80', 'HF_TOKEN'] })).toEqual({ env: ['OPENAI_API_KEY=***', 'PORT=80', 'HF_TOKEN'] });
  });

  it('leaves the stored configuration itself untouched', () => {
    const raw = { registry_auth: { username: 'u', password: 'p' }, env: { API_KEY: 'k' } };
    maskSecrets(raw);
    expect(raw).toEqual({ registry_auth: { username: 'u', password: 'p' }, env: { API_KEY: 'k' } });
  });

  it('passes anything that is not a configuration object through', () => {
    expect([maskSecrets(null), maskSecrets('x'), maskSecrets([1])]).toEqual([null, 'x', [1]]);
  });
});
