// GCE's failures as GcpCompute reports them, against the GCE fake with the real client: an exhausted zone → the
// offer's next zone, every zone exhausted or quota → OfferUnavailableError (and provisioning moves on to the next
// offer); expired credentials → UserError naming their source, never a token or key.
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
const catalog: Catalog = {
  provider: 'gcp',
  date: '2026-12-01',
  source: 'test',
  items: [row('us-central1-a', 0.7), row('us-central1-b', 0.71), row('europe-west4-a', 0.8), row('us-central1-c', 0.7)],
};

function gcp(regions = ['us-central1']): GcpCompute {
  return new GcpCompute({
    config: { type: 'gcp', project_id: 'p1', creds: { type: 'service_account', filename: fake.credentialsFile }, public_ips: true, regions },
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
  it('offers are one per region of the configured ones, its zones cheapest first, without any GCE request', async () => {
    const offers = await gcp().offers({ requirements: ANY_REQUIREMENTS });
    expect(offers.map((o) => [o.region, o.zone, o.zones, o.price])).toEqual([['us-central1', 'us-central1-a', ['us-central1-a', 'us-central1-c', 'us-central1-b'], 0.7]]);
    expect((await gcp(['us-central1', 'europe-west4']).offers({ requirements: ANY_REQUIREMENTS })).map((o) => [o.region, o.zones])).toEqual([
      ['us-central1', ['us-central1-a', 'us-central1-c', 'us-central1-b']],
      ['europe-west4', ['europe-west4-a']],
    ]);
    expect(fake.requests).toEqual([]);
  });

  it('a configured zone narrows its region to that zone; a fleet naming a zone does too', async () => {
    expect((await gcp(['us-central1-b']).offers({ requirements: ANY_REQUIREMENTS })).map((o) => o.zones)).toEqual([['us-central1-b']]);
    expect((await gcp().offers({ requirements: ANY_REQUIREMENTS, regions: ['us-central1-c'] })).map((o) => o.zones)).toEqual([['us-central1-c']]);
  });

  it.each(['ZONE_RESOURCE_POOL_EXHAUSTED', 'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS'])('%s in every zone → OfferUnavailableError(no_capacity) naming the zones tried, nothing left behind', async (code) => {
    for (const zone of ['us-central1-a', 'us-central1-b', 'us-central1-c']) fake.failZone(zone, code);
    const before = fake.instances().length;
    const err = await gcp().createInstance(await request()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OfferUnavailableError);
    expect(err).toMatchObject({ kind: 'no_capacity', providerCode: code });
    expect((err as Error).message).toContain('us-central1-a, us-central1-c, us-central1-b');
    const inserts = fake.requestsTo('POST', /\/zones\/[^/]+\/instances$/).map((r) => r.path.split('/zones/')[1]?.split('/')[0]);
    expect(inserts).toEqual(['us-central1-a', 'us-central1-c', 'us-central1-b']);
    expect(fake.instances()).toHaveLength(before);
  });

  it('zone exhausted: creating moves on to the offer\'s next zone, and provisioning has no offer to skip', async () => {
    fake.failZone('us-central1-a');
    const skipped: string[] = [];
    const target = { instance: 'gpu-1', fleet: 'gpu', project: 'main', filters: { requirements: ANY_REQUIREMENTS }, diskGiB: 100 };
    const created = await createOnFirstOffer({ compute: gcp(), target, sshPublicKey: projectKey().publicKey, onUnavailable: (r) => skipped.push(r) });
    expect(created).toMatchObject({ region: 'us-central1', zone: 'us-central1-c', backendData: { zone: 'us-central1-c' } });
    expect(skipped).toEqual([]);
    expect(fake.instances().find((i) => i.name === created.instanceId)).toBeDefined();
  });

  it('every zone of a region exhausted: provisioning says why it skipped the region and takes the next region', async () => {
    for (const zone of ['us-central1-a', 'us-central1-b', 'us-central1-c']) fake.failZone(zone);
    const skipped: string[] = [];
    const target = { instance: 'gpu-4', fleet: 'gpu', project: 'main', filters: { requirements: ANY_REQUIREMENTS }, diskGiB: 100 };
    const created = await createOnFirstOffer({ compute: gcp(['us-central1', 'europe-west4']), target, sshPublicKey: projectKey().publicKey, onUnavailable: (r) => skipped.push(r) });
    expect(created.zone).toBe('europe-west4-a');
    expect(skipped).toEqual(['gcp us-central1 g2-standard-4: no capacity (ZONE_RESOURCE_POOL_EXHAUSTED)']);
  });

  it.each(['http', 'operation'] as const)('quota refused (%s) → OfferUnavailableError(no_quota) with the quota named', async (via) => {
    fake.quotaExceeded(true, { via, metric: 'GPUS_ALL_REGIONS' });
    const err = await gcp().createInstance(await request()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OfferUnavailableError);
    expect(err).toMatchObject({ kind: 'no_quota', providerCode: via === 'http' ? 'quotaExceeded' : 'QUOTA_EXCEEDED' });
    expect((err as Error).message).toContain("Quota 'GPUS_ALL_REGIONS' exceeded");
    // Quota is not per zone: the other zones are not asked.
    expect(fake.requestsTo('POST', /\/zones\/[^/]+\/instances$/)).toHaveLength(1);
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

  // Last: from here on the fake rejects every token issued up to this second, so a self-signed JWT a later test
  // minted within that second would be refused too.
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
});
