// GCE's failures as GcpCompute reports them, against the GCE fake with the real client: zone exhaustion and quota →
// OfferUnavailableError (and provisioning moves on to the next zone's offer); expired credentials → UserError
// naming their source, never a token or key.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOnFirstOffer } from '../../../src/backends/cloud/create.js';
import { OfferUnavailableError, type CreateInstanceRequest } from '../../../src/backends/compute.js';
import { GcpCompute } from '../../../src/backends/gcp/index.js';
import type { Offer } from '../../../src/core/api.js';
import { catalogOffers } from '../../../src/core/catalog/offers.js';
import type { Catalog, CatalogItem } from '../../../src/core/catalog/types.js';
import { UserError } from '../../../src/core/errors.js';
import { ANY_REQUIREMENTS } from '../../../src/core/runs/requirements.js';
import { useConnectGuard } from '../../helpers/aws/connect-guard.js';
import { projectKey } from '../../helpers/aws/requests.js';
import { startGcpFake, type GcpFake } from '../../helpers/gcp-fake/server.js';

useConnectGuard();
let fake: GcpFake;

beforeAll(async () => {
  // The library costs seconds to import (more on a loaded machine): paid here, under the hook timeout.
  await import('@google-cloud/compute');
  fake = await startGcpFake({ project: 'p1', addresses: ['10.77.0.20', '10.77.0.21', '10.77.0.22'] });
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.requests.length = 0;
  fake.clearFaults();
});

const row = (location: string, price: number): CatalogItem => ({
  provider: 'gcp',
  instanceName: 'g2-standard-4',
  location,
  price,
  cpu: 4,
  memoryGiB: 16,
  gpuCount: 1,
  gpuName: 'L4',
  gpuMemoryGiB: 24,
  gpuVendor: 'nvidia',
  spot: false,
  flags: [],
  cpuArch: 'x86',
});
const catalog: Catalog = { provider: 'gcp', date: '2026-12-01', source: 'test', items: [row('us-central1-a', 0.7), row('us-central1-b', 0.71), row('europe-west4-a', 0.8)] };

function gcp(): GcpCompute {
  return new GcpCompute({
    config: { type: 'gcp', project_id: 'p1', creds: { type: 'service_account', filename: fake.credentialsFile }, public_ips: true, regions: ['us-central1'] },
    project: 'main',
    env: { DSTACK_GCP_ENDPOINT: fake.endpoint },
    backendIndex: 2,
    loadCatalog: () => Promise.resolve(catalog),
    catalogOffers,
  });
}

async function firstOffer(): Promise<Offer> {
  const [offer] = await gcp().offers({ requirements: ANY_REQUIREMENTS });
  if (!offer) throw new Error('no offer');
  return offer;
}

async function request(o: Partial<CreateInstanceRequest> = {}): Promise<CreateInstanceRequest> {
  return { project: 'main', fleet: 'gpu', instanceName: 'gpu-0', offer: await firstOffer(), diskGiB: 100, sshPublicKey: projectKey().publicKey, ...o };
}

/** Every text an error carries to the user: message, hint, and the messages of its causes. */
function texts(e: unknown): string {
  const parts: string[] = [];
  for (let cur = e as { message?: string; hint?: string; cause?: unknown } | undefined, depth = 0; cur && depth < 5; cur = cur.cause as typeof cur, depth++) {
    parts.push(cur.message ?? '', cur.hint ?? '', String(cur));
  }
  return parts.join('\n');
}

describe('GcpCompute: GCE faults', () => {
  it('offers are the catalog rows in the configured regions, zones as locations, without any GCE request', async () => {
    const offers = await gcp().offers({ requirements: ANY_REQUIREMENTS });
    expect(offers.map((o) => [o.region, o.zone])).toEqual([
      ['us-central1', 'us-central1-a'],
      ['us-central1', 'us-central1-b'],
    ]);
    expect(fake.requests).toEqual([]);
  });

  it.each(['ZONE_RESOURCE_POOL_EXHAUSTED', 'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS'])('%s in the operation → OfferUnavailableError(no_capacity), nothing left behind', async (code) => {
    fake.failZone('us-central1-a', code);
    const before = fake.instances().length;
    const err = await gcp().createInstance(await request()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OfferUnavailableError);
    expect(err).toMatchObject({ kind: 'no_capacity', providerCode: code });
    expect((err as Error).message).toContain('us-central1-a');
    expect(fake.instances()).toHaveLength(before);
  });

  it('zone exhausted: provisioning moves on to the next zone and says why it skipped the first', async () => {
    fake.failZone('us-central1-a');
    const skipped: string[] = [];
    const target = { instance: 'gpu-1', fleet: 'gpu', project: 'main', filters: { requirements: ANY_REQUIREMENTS }, diskGiB: 100 };
    const created = await createOnFirstOffer({ compute: gcp(), target, sshPublicKey: projectKey().publicKey, onUnavailable: (r) => skipped.push(r) });
    expect(created.zone).toBe('us-central1-b');
    expect(skipped).toEqual(['gcp us-central1 g2-standard-4: no capacity (ZONE_RESOURCE_POOL_EXHAUSTED)']);
  });

  it.each(['http', 'operation'] as const)('quota refused (%s) → OfferUnavailableError(no_quota) with the quota named', async (via) => {
    fake.quotaExceeded(true, { via, metric: 'GPUS_ALL_REGIONS' });
    const err = await gcp().createInstance(await request()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OfferUnavailableError);
    expect(err).toMatchObject({ kind: 'no_quota', providerCode: via === 'http' ? 'quotaExceeded' : 'QUOTA_EXCEEDED' });
    expect((err as Error).message).toContain("Quota 'GPUS_ALL_REGIONS' exceeded");
  });

  it('expired credentials → UserError naming config.yml and the key file, without the token or the key', async () => {
    const compute = gcp();
    await compute.createInstance(await request({ instanceName: 'gpu-2' }));
    fake.expireTokens();
    const err = await compute.createInstance(await request({ instanceName: 'gpu-3' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err).toMatchObject({ code: 'GCP_CREDENTIALS_REJECTED' });
    expect((err as Error).message).toContain('config.yml projects[main].backends[2].creds');
    const bearer = fake.requests.at(-1);
    expect(bearer?.status).toBe(401);
    const all = texts(err);
    expect(all).not.toContain(fake.staticToken);
    expect(all).not.toContain('PRIVATE KEY');
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{20,}/);
  });

  it('creds: default takes GOOGLE_APPLICATION_CREDENTIALS from the env the daemon passes', async () => {
    const compute = new GcpCompute({
      config: { type: 'gcp', project_id: 'p1', creds: { type: 'default' }, public_ips: true },
      project: 'main',
      env: { DSTACK_GCP_ENDPOINT: fake.endpoint, GOOGLE_APPLICATION_CREDENTIALS: fake.credentialsFile },
      loadCatalog: () => Promise.resolve(catalog),
      catalogOffers,
    });
    await expect(compute.createInstance(await request({ instanceName: 'adc-0' }))).resolves.toMatchObject({ zone: 'us-central1-a' });
    expect(fake.requests.filter((r) => r.path.startsWith('/compute/')).every((r) => r.bearer === 'self-signed-jwt')).toBe(true);
  });

  it('a key file that does not exist → UserError naming it, before any GCE request', async () => {
    const compute = new GcpCompute({
      config: { type: 'gcp', project_id: 'p1', creds: { type: 'service_account', filename: '/nonexistent/sa.json' }, public_ips: true },
      project: 'main',
      env: { DSTACK_GCP_ENDPOINT: fake.endpoint },
      loadCatalog: () => Promise.resolve(catalog),
      catalogOffers,
    });
    const err = await compute.createInstance(await request()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'GCP_CREDENTIALS' });
    expect((err as Error).message).toContain('/nonexistent/sa.json');
    expect(fake.requests).toEqual([]);
  });
});
