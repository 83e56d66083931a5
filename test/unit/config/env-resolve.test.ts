// Required env (`- HF_TOKEN`) resolution and `${{ env.NAME }}` interpolation, as the CLI does before apply.
import { describe, expect, test } from 'vitest';
import { parseConfigObject } from '../../../src/core/config/parse.js';
import { resolveEnv } from '../../../src/core/config/env.js';
import { loadConfigFile } from '../../../src/core/config/load.js';
import { UserError } from '../../../src/core/errors.js';

const base = { type: 'service', port: 8000, commands: ['x'] };

describe('resolveEnv', () => {
  test('a required variable comes from -e first, then the process environment', () => {
    const raw = { ...base, env: ['HF_TOKEN', 'MODEL=a'] };
    expect(resolveEnv(raw, { HF_TOKEN: 'from-flag' }, { HF_TOKEN: 'from-env' })).toMatchObject({ env: { HF_TOKEN: 'from-flag', MODEL: 'a' } });
    expect(resolveEnv(raw, {}, { HF_TOKEN: 'from-env' })).toMatchObject({ env: { HF_TOKEN: 'from-env', MODEL: 'a' } });
    expect(raw.env).toEqual(['HF_TOKEN', 'MODEL=a']);
  });
  test('-e overrides YAML values and adds variables; `-e NAME` alone takes the process value', () => {
    const out = resolveEnv({ ...base, env: { MODEL: 'a' } }, { MODEL: 'b', EXTRA: '1', FROM_ENV: undefined }, { FROM_ENV: 'p' });
    expect(out).toMatchObject({ env: { MODEL: 'b', EXTRA: '1', FROM_ENV: 'p' } });
  });
  test('unset → ENV_NOT_SET with a hint', () => {
    let e: unknown;
    try {
      resolveEnv({ ...base, env: ['HF_TOKEN'] }, {}, {});
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(UserError);
    expect(e).toMatchObject({ code: 'ENV_NOT_SET', message: 'Environment variable HF_TOKEN is not set', hint: 'pass -e HF_TOKEN=… or export HF_TOKEN before running dstack' });
  });
  test('${{ env.NAME }} in registry_auth and probes', () => {
    const raw = {
      ...base,
      env: ['TOKEN', 'USER=me'],
      registry_auth: { username: '${{ env.USER }}', password: '${{env.TOKEN}}' },
      probes: [{ url: '/health?key=${{ env.TOKEN }}', method: 'post', body: '{"k":"${{ env.TOKEN }}"}', headers: [{ name: 'Authorization', value: 'Bearer ${{ env.TOKEN }}' }] }],
    };
    const out = resolveEnv(raw, { TOKEN: 's3cret' }, {});
    const config = parseConfigObject(out);
    expect(config).toMatchObject({
      registry_auth: { username: 'me', password: 's3cret' },
      probes: [{ url: '/health?key=s3cret', body: '{"k":"s3cret"}', headers: [{ name: 'Authorization', value: 'Bearer s3cret' }] }],
    });
    expect(() => resolveEnv({ ...base, registry_auth: { username: '${{ env.NOPE }}', password: 'x' } }, {}, {})).toThrow('Environment variable NOPE is not set');
  });
  test('SkyServe envs: null is required; probe headers get $VARS', () => {
    const raw = { service: { readiness_probe: { path: '/', headers: { Authorization: 'Bearer $AUTH_TOKEN' } } }, resources: { ports: 8080 }, run: 'x', envs: { AUTH_TOKEN: null, A: 1 } };
    const out = resolveEnv(raw, {}, { AUTH_TOKEN: 't' });
    expect(out).toMatchObject({ envs: { AUTH_TOKEN: 't', A: '1' }, service: { readiness_probe: { headers: { Authorization: 'Bearer t' } } } });
    expect(() => resolveEnv(raw, {}, {})).toThrow('Environment variable AUTH_TOKEN is not set');
  });
  test('loadConfigFile({env}) resolves before parsing', async () => {
    const r = await loadConfigFile('test/fixtures/configs/seeds/000-service-ref-env-vars.dstack.yml', { env: { overrides: { HF_TOKEN: 'hf' } } });
    expect((r.config as { env: unknown }).env).toEqual({ HF_TOKEN: 'hf', MODEL: 'NousResearch/Llama-2-7b-chat-hf' });
    expect((r.raw as { env: unknown }).env).toEqual({ HF_TOKEN: 'hf', MODEL: 'NousResearch/Llama-2-7b-chat-hf' });
  });
});
