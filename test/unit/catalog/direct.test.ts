/**
 * `dstack offer` answered in the CLI (core/catalog/direct.ts) against the daemon's CatalogService and offersResponse
 * on the same home: same catalogs (shipped or refreshed), same config.yml backends and regions, same answer.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CatalogService } from '../../../src/backends/catalog/service.js';
import { configuredBackends, directOffers } from '../../../src/core/catalog/direct.js';
import { offersResponse } from '../../../src/core/catalog/offers.js';
import { offerQueryString, parseOfferQuery, type OfferQueryInput } from '../../../src/core/catalog/query.js';
import { BackendConfig } from '../../../src/core/home/backends-config.js';

let home: string | undefined;
afterEach(async () => {
  if (home) await rm(home, { recursive: true, force: true });
  home = undefined;
});

async function newHome(config?: string): Promise<string> {
  home = await mkdtemp(join(tmpdir(), 'dstack-direct-'));
  if (config !== undefined) await writeFile(join(home, 'config.yml'), config);
  return home;
}

const configYaml = (backends: string) =>
  `version: 1\ndefault_project: main\nuser: t\ntoken: ${'x'.repeat(24)}\nprojects:\n  - name: other\n    tokens: []\n    backends: [{type: aws}]\n  - name: main\n    tokens: []\n    backends: ${backends}\n`;

/** What the daemon answers for `input` with these config.yml backends (its CatalogService, then offersResponse). */
async function daemonAnswer(dir: string, backends: unknown[], input: OfferQueryInput) {
  const query = parseOfferQuery(new URLSearchParams(offerQueryString(input)));
  const service = new CatalogService({ serverDir: join(dir, 'server'), backends: backends.map((b) => BackendConfig.parse(b)), project: 'main', env: {} });
  return offersResponse([], await service.offers(query), query);
}

describe('directOffers', () => {
  it('leaves to the daemon what the local machine or SSH fleets answer', async () => {
    const dir = await newHome();
    for (const backends of [undefined, ['local'], ['aws', 'ssh'], ['remote'], ['azure']]) {
      expect(await directOffers({ ...(backends ? { backends } : {}), gpu: 'A100' }, { DSTACK_HOME: dir })).toBeUndefined();
    }
  });

  it.each<[string, OfferQueryInput]>([
    ['the whole aws catalog', { backends: ['aws'] }],
    ['A100s of both clouds, spot first at a price', { backends: ['AWS', 'gcp'], gpu: 'A100', spotPolicy: 'auto' }],
    ['a max price and max offers', { backends: ['aws'], maxPrice: 2, maxOffers: 5, cpu: '8..' }],
    ['regions and instance types', { backends: ['gcp,aws'], regions: ['us-central1', 'us-east-1'], instanceTypes: ['g2-standard-4', 'g5.xlarge'] }],
  ])('answers %s as the daemon would, in a fresh home, writing nothing', async (_what, input) => {
    const dir = await newHome();
    const answer = await directOffers(input, { DSTACK_HOME: dir });
    expect(answer?.offers.length).toBeGreaterThan(0);
    expect(answer).toEqual(await daemonAnswer(dir, [], input));
    expect(answer?.notes.every((n) => /is not configured in config\.yml/.test(n))).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  });

  it('honours --max-price: nothing above it, and fewer offers than without it', async () => {
    const dir = await newHome();
    const all = await directOffers({ backends: ['aws'] }, { DSTACK_HOME: dir });
    const cheap = await directOffers({ backends: ['aws'], maxPrice: 0.5 }, { DSTACK_HOME: dir });
    expect(cheap!.offers.length).toBeGreaterThan(0);
    expect(cheap!.offers.length).toBeLessThan(all!.offers.length);
    expect(cheap!.offers.every((o) => o.price <= 0.5)).toBe(true);
    expect(cheap!.offers).toEqual(all!.offers.filter((o) => o.price <= 0.5));
  });

  it('takes the default project\'s backends and regions, and a refreshed catalog under DSTACK_HOME/server/catalog', async () => {
    const dir = await newHome(configYaml('[{type: aws, creds: {type: default}, regions: [us-west-2]}]'));
    const catalogDir = join(dir, 'server', 'catalog');
    await mkdir(catalogDir, { recursive: true });
    const header = 'instance_name,location,price,cpu,memory,gpu_count,gpu_name,gpu_memory,spot,disk_size,gpu_vendor,flags,cpu_arch,provider_data';
    await writeFile(join(catalogDir, 'aws.csv'), `${header}\ng5.xlarge,us-west-2,1.006,4,16,1,A10G,24,False,,nvidia,,x86,\ng5.xlarge,us-east-1,1.006,4,16,1,A10G,24,False,,nvidia,,x86,\n`);
    await writeFile(join(catalogDir, 'aws.version'), '20261201\n');
    const input: OfferQueryInput = { backends: ['aws'] };
    const answer = await directOffers(input, { DSTACK_HOME: dir });
    expect(answer).toEqual(await daemonAnswer(dir, [{ type: 'aws', creds: { type: 'default' }, regions: ['us-west-2'] }], input));
    expect(answer?.offers.map((o) => `${o.instanceType} ${o.region}`)).toEqual(['g5.xlarge us-west-2']);
    expect(answer?.catalogs).toEqual([{ provider: 'aws', date: '2026-12-01', source: join(catalogDir, 'aws.csv') }]);
    expect(answer?.notes).toEqual([]);
  });
});

describe('configuredBackends', () => {
  it('reads the default project\'s backends; none without config.yml; undefined for a shape it does not know', async () => {
    const dir = await newHome();
    const file = join(dir, 'config.yml');
    expect(await configuredBackends(file)).toEqual([]);
    await writeFile(file, configYaml('[{type: aws, regions: [us-east-1, eu-west-1]}]'));
    expect(await configuredBackends(file)).toEqual([{ type: 'aws', regions: ['us-east-1', 'eu-west-1'] }]);
    for (const bad of ['{type: aws}', '[{regions: [x]}]', '[{type: aws, regions: us-east-1}]', '[{type: aws, regions: []}]']) {
      await writeFile(file, configYaml(bad));
      expect(await configuredBackends(file), bad).toBeUndefined();
    }
    await writeFile(file, 'projects: [unclosed');
    expect(await configuredBackends(file)).toBeUndefined();
  });
});
