// EC2's failures as AwsCompute reports them: capacity, quota and price → OfferUnavailableError (the caller tries
// the next offer); refused or missing credentials → UserError naming their source and never their value.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsCompute } from '../../../src/backends/aws/index.js';
import { OfferUnavailableError } from '../../../src/backends/compute.js';
import { UserError } from '../../../src/core/errors.js';
import type { AwsBackendConfig } from '../../../src/core/home/backends-config.js';
import { TEST_ACCESS_KEY, TEST_SECRET_KEY, useAwsHarness } from '../../helpers/aws/harness.js';
import { createRequest, gpuOffer } from '../../helpers/aws/requests.js';

const h = useAwsHarness({ hosts: false });

function compute(config: AwsBackendConfig = h.config(), env: Record<string, string> = h.env()): AwsCompute {
  return new AwsCompute({ config, project: 'main', env, backendIndex: 1, loadCatalog: () => Promise.reject(new Error('unused')), catalogOffers: () => [] });
}

/** Every text an error carries to the user: message, hint, and the messages of its causes. */
function texts(e: unknown): string {
  const parts: string[] = [];
  for (let cur = e as { message?: string; hint?: string; cause?: unknown } | undefined, depth = 0; cur && depth < 5; cur = cur.cause as typeof cur, depth++) {
    parts.push(cur.message ?? '', cur.hint ?? '', String(cur));
  }
  return parts.join('\n');
}

function expectNoSecret(e: unknown): void {
  const all = texts(e);
  expect(all).not.toContain(TEST_SECRET_KEY);
  expect(all).not.toContain(TEST_ACCESS_KEY);
}

describe('AwsCompute: EC2 faults', () => {
  it.each([
    ['InsufficientInstanceCapacity', 'no_capacity'],
    ['InsufficientCapacity', 'no_capacity'],
    ['Unsupported', 'unsupported'],
    ['SpotMaxPriceTooLow', 'price'],
  ] as const)('%s in every zone → OfferUnavailableError(%s), after trying each zone that offers the type', async (code, kind) => {
    h.front.fail({ action: 'RunInstances', instanceType: 'g5.xlarge', code, status: 400 });
    const err = await compute().createInstance(createRequest()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OfferUnavailableError);
    expect(err).toMatchObject({ kind, providerCode: code });
    const zones = h.front.callsTo('RunInstances').map((c) => c.params['Placement.AvailabilityZone']);
    expect(zones.length).toBeGreaterThan(1);
    expect(new Set(zones).size).toBe(zones.length);
    expect((err as Error).message).toContain(zones[0]);
  });

  it.each([
    ['VcpuLimitExceeded', 'no_quota'],
    ['InstanceLimitExceeded', 'no_quota'],
    ['MaxSpotInstanceCountExceeded', 'no_quota'],
  ] as const)('%s → OfferUnavailableError(%s) at once: a quota holds for the whole region', async (code, kind) => {
    h.front.fail({ action: 'RunInstances', code });
    await expect(compute().createInstance(createRequest({ offer: gpuOffer({ spot: code === 'MaxSpotInstanceCountExceeded' }) }))).rejects.toMatchObject({ kind, providerCode: code });
    expect(h.front.callsTo('RunInstances')).toHaveLength(1);
  });

  it('no capacity in one zone: the instance lands in the next zone', async () => {
    h.front.fail({ action: 'RunInstances', zone: 'us-east-1a', code: 'InsufficientInstanceCapacity' });
    const created = await compute().createInstance(createRequest());
    expect(created.zone).toBe('us-east-1b');
    expect(h.front.callsTo('RunInstances').map((c) => [c.params['Placement.AvailabilityZone'], c.injected ?? 'ok'])).toContainEqual(['us-east-1b', 'ok']);
  });

  it('a fault for another instance type leaves this one alone', async () => {
    h.front.fail({ action: 'RunInstances', instanceType: 'p5.48xlarge', code: 'InsufficientInstanceCapacity' });
    await expect(compute().createInstance(createRequest())).resolves.toMatchObject({ zone: 'us-east-1a' });
  });

  it.each(['RequestExpired', 'AuthFailure'] as const)(
    'credentials expiring mid-run (%s) → UserError naming config.yml and the backend, without the secret',
    async (code) => {
      const aws = compute();
      await aws.createInstance(createRequest({ instanceName: 'gpu-fleet-0' }));
      h.front.expireCredentials(code);
      const err = await aws.createInstance(createRequest({ instanceName: 'gpu-fleet-1' })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect(err).toMatchObject({ code: 'AWS_CREDENTIALS_REJECTED' });
      expect((err as Error).message).toContain('config.yml projects[main].backends[1].creds');
      expect((err as Error).message).toContain(code);
      expectNoSecret(err);
      const later = await aws.listTagged('main').catch((e: unknown) => e);
      expect(later).toMatchObject({ code: 'AWS_CREDENTIALS_REJECTED' });
    },
  );

  it('refused credentials from the environment name the default credential chain', async () => {
    h.front.expireCredentials('AuthFailure');
    const err = await compute({ type: 'aws', creds: { type: 'default' }, regions: ['us-east-1'] }).createInstance(createRequest()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AWS_CREDENTIALS_REJECTED' });
    expect((err as Error).message).toContain('the default AWS credential chain (AWS_PROFILE/AWS_ACCESS_KEY_ID/~/.aws)');
    expectNoSecret(err);
  });

  it('an EC2 error with no meaning to dstack keeps its code, and its message has no secret even if EC2 echoed one', async () => {
    h.front.fail({ action: 'RunInstances', code: 'InvalidParameterValue', message: `bad request signed by ${TEST_ACCESS_KEY} / ${TEST_SECRET_KEY}` });
    const err = await compute().createInstance(createRequest()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AWS_API_ERROR', awsCode: 'InvalidParameterValue' });
    expect((err as Error).message).toContain('EC2 RunInstances in us-east-1 failed: InvalidParameterValue');
    expect((err as Error).message).not.toContain(TEST_SECRET_KEY);
    expect((err as Error).message).not.toContain(TEST_ACCESS_KEY);
  });

  describe('with no credentials anywhere', () => {
    const saved: Record<string, string | undefined> = {};
    const isolate = {
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
      AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
      // The chain's last link asks the instance metadata service at 169.254.169.254: not from a test.
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: 'unset',
      AWS_SHARED_CREDENTIALS_FILE: 'unset',
    };
    beforeEach(() => {
      const empty = mkdtempSync(join(tmpdir(), 'dstack-aws-nocreds-'));
      for (const [k, v] of Object.entries(isolate)) {
        saved[k] = process.env[k];
        const value = v === 'unset' ? join(empty, k.toLowerCase()) : v;
        if (value === undefined) delete process.env[k];
        else process.env[k] = value;
      }
    });
    afterEach(() => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });

    it('creds: default with nothing to find → UserError naming the default chain, before any request reaches EC2', async () => {
      const env = { AWS_ENDPOINT_URL_EC2: h.front.url };
      const err = await compute({ type: 'aws', creds: { type: 'default' }, regions: ['us-east-1'] }, env).createInstance(createRequest()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect(err).toMatchObject({ code: 'AWS_CREDENTIALS_MISSING' });
      expect((err as Error).message).toBe('no AWS credentials were found in the default AWS credential chain (AWS_PROFILE/AWS_ACCESS_KEY_ID/~/.aws)');
      expect(h.front.calls).toHaveLength(0);
    });
  });
});
