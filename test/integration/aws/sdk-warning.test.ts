// On Node 20 the SDK warns once per process that its 2027 releases need Node 22. Node 20 is the runtime dstack
// ships, so AwsCompute filters exactly that warning; any other still reaches the process.
import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsCompute } from '../../../src/backends/aws/index.js';
import { useAwsHarness } from '../../helpers/aws/harness.js';
import { createRequest } from '../../helpers/aws/requests.js';

const h = useAwsHarness({ hosts: false });
// The SDK's own once-per-process flag: cleared so this file sees the first client construction whatever ran before.
const sdkState = createRequire(import.meta.url)('@aws-sdk/core/client') as { state: { warningEmitted: boolean } };

describe('the SDK on Node 20', () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  beforeEach(() => {
    warnings.length = 0;
    sdkState.state.warningEmitted = false;
    process.on('warning', onWarning);
  });
  afterEach(() => {
    process.off('warning', onWarning);
  });

  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('emits no NodeVersionSupportWarning through AwsCompute, and other warnings still pass', async () => {
    expect(Number(process.versions.node.split('.')[0])).toBeLessThan(22);
    const aws = new AwsCompute({ config: h.config(), project: 'main', env: h.env(), loadCatalog: () => Promise.reject(new Error('unused')), catalogOffers: () => [] });
    await aws.createInstance(createRequest());
    process.emitWarning('a warning of our own', 'DstackTestWarning');
    await settle();
    expect(warnings.filter((w) => w.includes('NodeVersionSupportWarning'))).toEqual([]);
    expect(warnings).toContain('DstackTestWarning: a warning of our own');
    expect(sdkState.state.warningEmitted).toBe(true);
  });

  it('a plain SDK client does emit it (so the check above can fail)', async () => {
    const { EC2Client } = await import('@aws-sdk/client-ec2');
    new EC2Client({ region: 'us-east-1' }).destroy();
    await settle();
    expect(warnings.some((w) => w.includes('NodeVersionSupportWarning'))).toBe(true);
  });
});
