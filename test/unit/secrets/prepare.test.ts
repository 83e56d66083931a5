// Plan and apply (prepareRun) check references against the project's secrets and store caller values masked.
import { describe, expect, it } from 'vitest';
import { formatDuration, formatResources, parseConfigObject } from '../../../src/core/config/index.js';
import { UserError } from '../../../src/core/errors.js';
import { diffRuns, prepareRun, type PrepareOptions } from '../../../src/core/runs/index.js';

const options = (secrets: Record<string, string>, over: Partial<PrepareOptions> = {}): PrepareOptions => ({
  parseConfig: (raw) => parseConfigObject(raw, 'svc.dstack.yml'),
  formatResources,
  formatDuration,
  project: 'main',
  env: {},
  secrets: () => new Map(Object.entries(secrets)),
  ...over,
});

async function refusal(p: Promise<unknown>): Promise<UserError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  if (e instanceof UserError) return e;
  throw new Error(`expected a UserError, got ${String(e)}`);
}

const service = {
  type: 'service',
  name: 'svc',
  image: 'nvcr.io/nim/model',
  port: 8000,
  env: { HF_TOKEN: '${{ secrets.hf_token }}', MODEL: 'm' },
  registry_auth: { username: '$oauthtoken', password: '${{ secrets.ngc_api_key }}' },
};

describe('prepareRun with secrets', () => {
  it('keeps the references in the config and the spec template', async () => {
    const p = await prepareRun(service, options({ hf_token: 'hf-value', ngc_api_key: 'ngc-value' }));
    expect(p.specTemplate.env).toEqual({ HF_TOKEN: '${{ secrets.hf_token }}', MODEL: 'm' });
    expect(p.specTemplate.registryAuth).toEqual({ username: '$oauthtoken', password: '${{ secrets.ngc_api_key }}' });
    expect(JSON.stringify(p)).not.toMatch(/hf-value|ngc-value/);
  });

  it('refuses the plan or apply of a run whose secret is not set, naming it and the key path', async () => {
    const e = await refusal(prepareRun(service, options({ hf_token: 'x' })));
    expect([e.code, e.message]).toEqual(['SECRET_NOT_FOUND', 'Secret `ngc_api_key` is not set (used in `registry_auth.password`)']);
    const none = await refusal(prepareRun(service, options({}, { secrets: undefined })));
    expect(none.message).toBe('Secrets are not set: `hf_token` (used in `env.HF_TOKEN`), `ngc_api_key` (used in `registry_auth.password`)');
  });

  it('stores values the caller supplied masked in the raw config (views), the real values in the spec', async () => {
    const raw = { type: 'service', name: 'svc', image: 'img', port: 8000, env: { CALLER_TOKEN: 'from-caller', PORT: '8000' } };
    const p = await prepareRun(raw, options({}), undefined, undefined, [['env', 'CALLER_TOKEN']]);
    expect(p.raw).toEqual({ ...raw, env: { CALLER_TOKEN: '***', PORT: '8000' } });
    expect(p.specTemplate.env).toEqual({ CALLER_TOKEN: 'from-caller', PORT: '8000' });
  });

  it('a TGI model`s tokenizer is fetched with the secret`s value, not the reference', async () => {
    const asked: (string | undefined)[] = [];
    const resolveTokenizer = async (_m: string, token: string | undefined) => (asked.push(token), { chatTemplate: 'T', eosToken: '</s>' });
    const raw = { type: 'service', name: 'tgi', image: 'img', port: 8000, env: { HF_TOKEN: '${{ secrets.hf_token }}' }, model: { name: 'm', format: 'tgi' } };
    await prepareRun(raw, options({ hf_token: 'hf-value' }, { resolveTokenizer }));
    expect(asked).toEqual(['hf-value']);
  });

  it('re-applying the same configuration after a secret changed is no change: new replicas get the new value', async () => {
    const before = await prepareRun(service, options({ hf_token: 'old', ngc_api_key: 'k' }));
    const after = await prepareRun(service, options({ hf_token: 'new', ngc_api_key: 'k' }));
    expect(diffRuns(before, after)).toEqual({ action: 'none', changes: [], redeploy: false });
  });
});
