import { describe, expect, it } from 'vitest';
import { formatDuration, formatResources, parseConfigObject } from '../../../src/core/config/index.js';
import { UserError } from '../../../src/core/errors.js';
import { planSummary, prepareRun, type PrepareOptions } from '../../../src/core/runs/index.js';

const options = (over: Partial<PrepareOptions> = {}): PrepareOptions => ({
  parseConfig: (raw) => parseConfigObject(raw, 'svc.dstack.yml'),
  formatResources,
  formatDuration,
  project: 'main',
  env: {},
  ...over,
});

async function refusal(p: Promise<unknown>): Promise<UserError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  if (e instanceof UserError) return e;
  throw new Error(`expected a UserError, got ${String(e)}`);
}

describe('prepareRun', () => {
  it('turns a service into its settings, spec template and requirements, with a generated name when it has none', async () => {
    const p = await prepareRun({ type: 'service', image: 'img', port: 8000 }, options(), () => 0);
    expect(p.name).toBe('brave-ant-1');
    expect([p.specTemplate.image, p.specTemplate.runName, p.settings.replicas, p.requirements.cpu]).toEqual(['img', 'brave-ant-1', { min: 1, max: 1 }, { min: 2 }]);
    expect(p.specTemplates).toBeUndefined();
  });

  it('refuses what is not a service, and what is not supported yet', async () => {
    const fleet = { type: 'fleet', name: 'gpus', ssh_config: { user: 'u', identity_file: '~/.ssh/id', hosts: ['10.0.0.1'] } };
    expect((await refusal(prepareRun(fleet, options()))).code).toBe('NOT_A_SERVICE');
    const e = await refusal(prepareRun({ type: 'service', image: 'img', port: 8000, schedule: { cron: '* * * * *' } }, options()));
    expect([e.code, e.message]).toEqual(['NOT_SUPPORTED_YET', '`schedule` is not supported yet']);
  });

  it('a TGI model gets its chat template and EOS token from the model repo unless the YAML sets them', async () => {
    const asked: [string, string | undefined][] = [];
    const resolveTokenizer = async (model: string, token: string | undefined) => (asked.push([model, token]), { chatTemplate: 'T', eosToken: '</s>', bosToken: '<s>' });
    const raw = { type: 'service', name: 'tgi', image: 'img', port: 8000, env: { HF_TOKEN: 'hf' }, model: { name: 'm', format: 'tgi', eos_token: '<eos>' } };
    const p = await prepareRun(raw, options({ resolveTokenizer }));
    expect(p.settings.model).toEqual({ name: 'm', format: 'tgi', prefix: '', chatTemplate: 'T', eosToken: '<eos>', bosToken: '<s>' });
    expect(asked).toEqual([['m', 'hf']]);
    expect((await refusal(prepareRun(raw, options()))).code).toBe('TGI_TEMPLATE_UNAVAILABLE');
  });

  it('the plan summary prints the policies as dstack does', async () => {
    const p = await prepareRun({ type: 'service', name: 'svc', image: 'img', port: 8000, retry: { on_events: ['error'], duration: '1h' } }, options());
    expect(planSummary(p.config, options())).toEqual({
      resources: formatResources(p.config.resources),
      spotPolicy: 'on-demand',
      maxPrice: 'off',
      retryPolicy: `${formatDuration(3600)}[error]`,
      creationPolicy: 'reuse-or-create',
      idleDuration: formatDuration(300),
      maxDuration: 'off',
    });
  });
});
