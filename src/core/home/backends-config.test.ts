import { describe, expect, it } from 'vitest';
import { BackendConfig } from './backends-config.js';

describe('gcp backend config', () => {
  it("takes dstack's fields, defaulting creds to the default chain and public_ips to true", () => {
    expect(BackendConfig.parse({ type: 'gcp', project_id: 'my-project', regions: ['us-central1'] })).toEqual({
      type: 'gcp',
      project_id: 'my-project',
      creds: { type: 'default' },
      regions: ['us-central1'],
      public_ips: true,
    });
  });

  it('a service account names its key file; os_images name image families', () => {
    const parsed = BackendConfig.parse({
      type: 'gcp',
      project_id: 'p',
      creds: { type: 'service_account', filename: '~/sa.json' },
      os_images: { nvidia: { family: 'my-cuda', project: 'images-project' } },
    });
    expect(parsed).toMatchObject({ creds: { filename: '~/sa.json' }, os_images: { nvidia: { family: 'my-cuda', project: 'images-project', user: 'ubuntu' } } });
  });

  it('rejects a config without project_id, or with unknown keys', () => {
    expect(BackendConfig.safeParse({ type: 'gcp' }).success).toBe(false);
    expect(BackendConfig.safeParse({ type: 'gcp', project_id: 'p', zone: 'x' }).success).toBe(false);
    expect(BackendConfig.safeParse({ type: 'gcp', project_id: 'p', creds: { type: 'service_account' } }).success).toBe(false);
  });
});
