// Offers come from the catalog alone: no credentials, no EC2 request, limited to the backend's regions.
import { describe, expect, it } from 'vitest';
import { AwsCompute } from '../../../src/backends/aws/index.js';
import type { Offer } from '../../../src/core/api.js';
import type { Catalog, OfferFilters } from '../../../src/core/catalog/types.js';
import { ANY_REQUIREMENTS } from '../../../src/core/runs/requirements.js';
import { useAwsHarness } from '../../helpers/aws/harness.js';
import { gpuOffer } from '../../helpers/aws/requests.js';

const h = useAwsHarness({ hosts: false });

const catalog: Catalog = { provider: 'aws', date: '2026-11-20', source: 'shipped', items: [] };

/** Stands in for src/core/catalog's filter: what AwsCompute asks of it is what these tests look at. */
function recordingOffers(seen: OfferFilters[]): (catalogs: Catalog[], filters: OfferFilters) => Offer[] {
  return (catalogs, filters) => {
    expect(catalogs).toEqual([catalog]);
    seen.push(filters);
    return [gpuOffer()];
  };
}

describe('AwsCompute.offers', () => {
  it("narrows the regions asked for to the backend's regions, and needs no credentials", async () => {
    const seen: OfferFilters[] = [];
    const aws = new AwsCompute({
      config: { type: 'aws', creds: { type: 'default' }, regions: ['us-east-1', 'eu-west-1'] },
      project: 'main',
      env: { AWS_ENDPOINT_URL_EC2: h.front.url },
      loadCatalog: () => Promise.resolve(catalog),
      catalogOffers: recordingOffers(seen),
    });
    await expect(aws.offers({ requirements: ANY_REQUIREMENTS, spotPolicy: 'auto' })).resolves.toEqual([gpuOffer()]);
    await aws.offers({ requirements: ANY_REQUIREMENTS, regions: ['eu-west-1', 'us-west-2'] });
    expect(await aws.offers({ requirements: ANY_REQUIREMENTS, regions: ['ap-south-1'] })).toEqual([]);
    expect(seen.map((f) => f.regions)).toEqual([['us-east-1', 'eu-west-1'], ['eu-west-1']]);
    expect(seen[0]?.spotPolicy).toBe('auto');
    expect(h.front.calls).toEqual([]);
  });

  it('without configured regions, passes the filters through', async () => {
    const seen: OfferFilters[] = [];
    const aws = new AwsCompute({ config: { type: 'aws', creds: { type: 'default' } }, project: 'main', env: {}, loadCatalog: () => Promise.resolve(catalog), catalogOffers: recordingOffers(seen) });
    await aws.offers({ requirements: ANY_REQUIREMENTS });
    await aws.offers({ requirements: ANY_REQUIREMENTS, regions: ['us-west-2'] });
    expect(seen.map((f) => f.regions)).toEqual([undefined, ['us-west-2']]);
  });
});
