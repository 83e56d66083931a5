// Everything an AWS test file needs, for the whole file: moto, the EC2 front (faults, fake reservations, addresses
// rewritten to the namespace test hosts), and the connect guard (only loopback and those hosts). Each test starts
// from a clean moto and front.
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { AwsBackendConfig } from '../../../src/core/home/backends-config.js';
import { loadTestHosts, type TestHost } from '../test-hosts.js';
import { useConnectGuard } from './connect-guard.js';
import { startEc2Front, type Ec2Front } from './ec2-front.js';
import { useMoto } from './moto.js';

/** Fake credentials moto accepts; distinctive, so a test can search every message for them. */
export const TEST_ACCESS_KEY = 'AKIADSTACKTEST000001';
export const TEST_SECRET_KEY = 'dstack-test-secret-8f3c1e9a7b2d';

/** dstack's default image names (in test/fixtures/aws/amis.json), with the user the namespace hosts' sshd lets in. */
export const TEST_OS_IMAGES = {
  cpu: { name: 'ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*', owner: '099720128477', user: 'root' },
  nvidia: { name: 'Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) *', owner: 'amazon', user: 'root' },
} as const;

export interface AwsHarness {
  readonly front: Ec2Front;
  readonly motoUrl: string;
  readonly hosts: readonly TestHost[];
  /** The daemon's env for the SDK: the front as AWS_ENDPOINT_URL_EC2, test credentials, no instance metadata. */
  env(extra?: Record<string, string>): Record<string, string>;
  /** An aws backend with access_key creds, region us-east-1 and TEST_OS_IMAGES, then `overrides`. */
  config(overrides?: Partial<AwsBackendConfig>): AwsBackendConfig;
}

export function useAwsHarness(options: { hosts?: boolean; minHosts?: number } = {}): AwsHarness {
  const moto = useMoto();
  const guard = useConnectGuard();
  let front: Ec2Front | undefined;
  let hosts: TestHost[] = [];
  beforeAll(async () => {
    hosts = options.hosts === false ? [] : loadTestHosts(options.minHosts ?? 1).hosts;
    guard.allow(...hosts.map((h) => h.ip));
    front = await startEc2Front({ motoUrl: moto.url, hosts });
  });
  beforeEach(async () => {
    front?.reset();
    await moto.reset();
  });
  afterAll(async () => {
    await front?.close();
  });
  const started = (): Ec2Front => {
    if (!front) throw new Error('the EC2 front is not started: use the harness inside a test or hook');
    return front;
  };
  return {
    get front() {
      return started();
    },
    get motoUrl() {
      return moto.url;
    },
    get hosts() {
      return hosts;
    },
    env: (extra = {}) => ({
      AWS_ENDPOINT_URL_EC2: started().url,
      AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY,
      AWS_SECRET_ACCESS_KEY: TEST_SECRET_KEY,
      AWS_EC2_METADATA_DISABLED: 'true',
      ...extra,
    }),
    config: (overrides = {}) => ({
      type: 'aws',
      creds: { type: 'access_key', access_key: TEST_ACCESS_KEY, secret_key: TEST_SECRET_KEY },
      regions: ['us-east-1'],
      os_images: TEST_OS_IMAGES,
      ...overrides,
    }),
  };
}
