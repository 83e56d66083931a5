/**
 * A fresh aws catalog from EC2 itself, for `DSTACK_HOME/server/catalog/` (the refresh path of issue 13):
 * DescribeInstanceTypes gives what each type is (CPUs, memory, GPUs, architecture) in each region, and
 * DescribeSpotPriceHistory today's spot price (the cheapest zone's, as the zone loop at launch tries them all).
 * EC2 has no on-demand prices (that is the Pricing API): they, and the rows' flags and provider data, come from
 * the shipped catalog, so only the instance families it ships are refreshed.
 */
import type { InstanceTypeInfo, SpotPrice, _InstanceType } from '@aws-sdk/client-ec2';
import type { Catalog, CatalogItem } from '../../core/catalog/types.js';
import type { AwsBackendConfig } from '../../core/home/backends-config.js';
import { Ec2, type Env } from './client.js';

export interface RefreshOptions {
  /** The shipped aws catalog: on-demand prices, flags, provider data, and which families to look up. */
  shipped: Catalog;
  /** How errors name the credentials' source; default `config.yml projects[main].backends[0].creds`. */
  configPath?: string;
}

const MiB_PER_GiB = 1024;

export async function fetchAwsCatalog(config: AwsBackendConfig, env: Env, options: RefreshOptions): Promise<CatalogItem[]> {
  const ec2 = new Ec2({ config, env, configPath: options.configPath ?? 'config.yml projects[main].backends[0].creds' });
  const shipped = options.shipped.items.filter((i) => i.provider === 'aws');
  const regions = config.regions ?? [...new Set(shipped.map((i) => i.location))].sort();
  const families = [...new Set(shipped.map((i) => `${i.instanceName.split('.')[0] ?? i.instanceName}.*`))].sort();
  if (families.length === 0) return [];
  const perRegion = await Promise.all(
    regions.map(async (region) => {
      const types = await instanceTypes(ec2, region, families);
      const spot = await spotPrices(ec2, region, types.map((t) => t.InstanceType ?? ''));
      return types.flatMap((info) => rows(info, region, shipped, spot));
    }),
  );
  return perRegion.flat();
}

function rows(info: InstanceTypeInfo, region: string, shipped: readonly CatalogItem[], spot: ReadonlyMap<string, number>): CatalogItem[] {
  const name = info.InstanceType ?? '';
  const known = shipped.find((i) => i.instanceName === name && i.location === region && !i.spot) ?? shipped.find((i) => i.instanceName === name);
  const gpus = info.GpuInfo?.Gpus ?? [];
  const gpu = gpus[0];
  const base: Omit<CatalogItem, 'price' | 'spot'> = {
    provider: 'aws',
    instanceName: name,
    location: region,
    cpu: info.VCpuInfo?.DefaultVCpus ?? 0,
    memoryGiB: (info.MemoryInfo?.SizeInMiB ?? 0) / MiB_PER_GiB,
    gpuCount: gpus.reduce((n, g) => n + (g.Count ?? 0), 0),
    ...(gpu?.Name ? { gpuName: gpu.Name } : {}),
    // EC2 reports usable memory (A10G: 22888 MiB); the catalog's figure (24 GB) is what users write in `gpu:`.
    ...(known?.gpuMemoryGiB !== undefined ? { gpuMemoryGiB: known.gpuMemoryGiB } : gpu?.MemoryInfo?.SizeInMiB ? { gpuMemoryGiB: Math.round(gpu.MemoryInfo.SizeInMiB / MiB_PER_GiB) } : {}),
    ...(gpu?.Manufacturer ? { gpuVendor: gpu.Manufacturer.toLowerCase() } : {}),
    ...(known?.diskSizeGiB !== undefined ? { diskSizeGiB: known.diskSizeGiB } : {}),
    flags: known?.flags ?? [],
    cpuArch: (info.ProcessorInfo?.SupportedArchitectures ?? []).includes('arm64') ? 'arm' : 'x86',
    ...(known?.providerData ? { providerData: known.providerData } : {}),
  };
  const out: CatalogItem[] = [];
  const onDemand = shipped.find((i) => i.instanceName === name && i.location === region && !i.spot);
  if (onDemand) out.push({ ...base, price: onDemand.price, spot: false });
  const spotPrice = spot.get(name);
  if (spotPrice !== undefined && (info.SupportedUsageClasses ?? ['spot']).includes('spot')) out.push({ ...base, price: spotPrice, spot: true });
  return out;
}

async function instanceTypes(ec2: Ec2, region: string, families: string[]): Promise<InstanceTypeInfo[]> {
  const found: InstanceTypeInfo[] = [];
  let token: string | undefined;
  do {
    const page = await ec2.call(region, 'DescribeInstanceTypes', (c, sdk) =>
      c.send(new sdk.DescribeInstanceTypesCommand({ Filters: [{ Name: 'instance-type', Values: families }], MaxResults: 100, ...(token ? { NextToken: token } : {}) })),
    );
    found.push(...(page.InstanceTypes ?? []).filter((t) => t.InstanceType));
    token = page.NextToken;
  } while (token);
  return found;
}

/** Current Linux spot price per type: the latest price of each zone, then the cheapest zone. */
async function spotPrices(ec2: Ec2, region: string, types: string[]): Promise<Map<string, number>> {
  const latest = new Map<string, SpotPrice>();
  if (types.length === 0) return new Map();
  let token: string | undefined;
  do {
    const page = await ec2.call(region, 'DescribeSpotPriceHistory', (c, sdk) =>
      c.send(
        new sdk.DescribeSpotPriceHistoryCommand({
          InstanceTypes: types as _InstanceType[],
          ProductDescriptions: ['Linux/UNIX', 'Linux/UNIX (Amazon VPC)'],
          StartTime: new Date(),
          ...(token ? { NextToken: token } : {}),
        }),
      ),
    );
    for (const p of page.SpotPriceHistory ?? []) {
      if (!p.ProductDescription?.startsWith('Linux/UNIX')) continue;
      const key = `${p.InstanceType ?? ''}/${p.AvailabilityZone ?? ''}`;
      const seen = latest.get(key);
      if (!seen || (p.Timestamp?.getTime() ?? 0) > (seen.Timestamp?.getTime() ?? 0)) latest.set(key, p);
    }
    token = page.NextToken;
  } while (token);
  const cheapest = new Map<string, number>();
  for (const p of latest.values()) {
    const price = Number(p.SpotPrice);
    const type = p.InstanceType ?? '';
    if (Number.isFinite(price) && price < (cheapest.get(type) ?? Infinity)) cheapest.set(type, price);
  }
  return cheapest;
}
