// The user data every instance gets must be valid cloud-config: a schema error would make cloud-init skip it and
// leave the CPU image without Docker. Checked with the real `cloud-init schema` (Debian package cloud-init).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AwsCompute } from '../../../src/backends/aws/index.js';
import { cloudConfig } from '../../../src/backends/cloud/image.js';
import { useAwsHarness } from '../../helpers/aws/harness.js';
import { cpuOffer, createRequest } from '../../helpers/aws/requests.js';

const h = useAwsHarness({ hosts: false });

function schemaCheck(text: string): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'dstack-user-data-'));
  const file = join(dir, 'user-data.yml');
  writeFileSync(file, text);
  const run = spawnSync('cloud-init', ['schema', '--config-file', file], { encoding: 'utf8' });
  if (run.error) throw new Error(`cloud-init is not installed (apt-get install -y cloud-init): ${run.error.message}`);
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('instance user data', () => {
  it.each([
    ['cpu', 'ubuntu'],
    ['nvidia', 'ubuntu'],
    ['cpu', 'we"ird: user'],
  ] as const)('the %s image with user %j passes `cloud-init schema`', (kind, user) => {
    const text = cloudConfig(kind, user);
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    const check = schemaCheck(text);
    expect(check.output).toContain('Valid cloud-config');
    expect(check.status).toBe(0);
  });

  it('the schema check fails on invalid cloud-config (so the checks above can fail)', () => {
    expect(schemaCheck('#cloud-config\npackages: docker.io\n').status).not.toBe(0);
  });

  it('installs Docker on the CPU image only; RunInstances sends exactly this document', async () => {
    expect(cloudConfig('cpu', 'ubuntu')).toContain('  - docker.io');
    expect(cloudConfig('nvidia', 'ubuntu')).not.toContain('packages');
    const aws = new AwsCompute({ config: h.config(), project: 'main', env: h.env(), loadCatalog: () => Promise.reject(new Error('unused')), catalogOffers: () => [] });
    await aws.createInstance(createRequest({ offer: cpuOffer() }));
    const sent = h.front.callsTo('RunInstances')[0]?.params.UserData ?? '';
    expect(Buffer.from(sent, 'base64').toString('utf8')).toBe(cloudConfig('cpu', 'root'));
  });
});
