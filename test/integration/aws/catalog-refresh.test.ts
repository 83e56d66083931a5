// The catalog refresh from EC2 (DescribeInstanceTypes + DescribeSpotPriceHistory) against moto.
import { describe, expect, it } from 'vitest';
import { fetchAwsCatalog } from '../../../src/backends/aws/catalog-refresh.js';
import type { Catalog, CatalogItem } from '../../../src/core/catalog/types.js';
import { useAwsHarness } from '../../helpers/aws/harness.js';

const h = useAwsHarness({ hosts: false });

const row = (over: Partial<CatalogItem>): CatalogItem => ({
  provider: 'aws',
  instanceName: 'g5.xlarge',
  location: 'us-east-1',
  price: 1.006,
  cpu: 4,
  memoryGiB: 16,
  gpuCount: 1,
  gpuName: 'A10G',
  gpuMemoryGiB: 24,
  gpuVendor: 'nvidia',
  spot: false,
  flags: [],
  cpuArch: 'x86',
  ...over,
});

const shipped: Catalog = {
  provider: 'aws',
  date: '2026-11-20',
  source: 'shipped',
  items: [row({}), row({ price: 0.4, spot: true }), row({ location: 'eu-west-1', price: 1.123 }), row({ instanceName: 'p4d.24xlarge', cpu: 96, memoryGiB: 1152, gpuCount: 8, gpuName: 'A100', gpuMemoryGiB: 40, price: 21.96 })],
};

describe('fetchAwsCatalog', () => {
  it("lists the shipped families' types per region with EC2's GPU data, shipped on-demand prices and today's spot prices", async () => {
    const items = await fetchAwsCatalog(h.config({ regions: ['us-east-1', 'eu-west-1'] }), h.env(), { shipped });
    const g5 = items.filter((i) => i.instanceName === 'g5.xlarge');
    expect(g5.map((i) => [i.location, i.spot, i.price]).sort()).toEqual(
      [
        ['eu-west-1', false, 1.123],
        ['eu-west-1', true, 0.00001],
        ['us-east-1', false, 1.006],
        ['us-east-1', true, 0.00001],
      ].sort(),
    );
    expect(g5[0]).toMatchObject({ cpu: 4, memoryGiB: 16, gpuCount: 1, gpuName: 'A10G', gpuMemoryGiB: 24, gpuVendor: 'nvidia', cpuArch: 'x86' });
    // The whole g5 family comes back, not only the shipped type; without a shipped price only the spot row.
    const g512 = items.filter((i) => i.instanceName === 'g5.12xlarge' && i.location === 'us-east-1');
    expect(g512.map((i) => i.spot)).toEqual([true]);
    expect(g512[0]).toMatchObject({ cpu: 48, gpuCount: 4, gpuName: 'A10G', gpuVendor: 'nvidia' });
    const p4dOnDemand = items.filter((i) => i.instanceName === 'p4d.24xlarge' && !i.spot);
    expect(p4dOnDemand.map((i) => [i.location, i.price])).toEqual([['us-east-1', 21.96]]);
    expect(items.some((i) => !/^(g5|p4d)\./.test(i.instanceName))).toBe(false);
    expect(new Set(h.front.calls.map((c) => c.action))).toEqual(new Set(['DescribeInstanceTypes', 'DescribeSpotPriceHistory']));
  });

  it('refused credentials → a UserError, as for provisioning', async () => {
    h.front.expireCredentials('AuthFailure');
    await expect(fetchAwsCatalog(h.config(), h.env(), { shipped })).rejects.toMatchObject({ code: 'AWS_CREDENTIALS_REJECTED' });
  });
});
