/**
 * `dstack offer` with the built CLI (issue 13): a query that names only clouds is answered from their catalogs in
 * the CLI process (no daemon started, no file written, no AWS API called), prints exactly what the daemon answers
 * for the same query, and `--backend local` still goes through the daemon.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { access, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { offersOutput } from '../../src/commands/offer-direct.js';
import type { Offer } from '../../src/core/api.js';
import type { OfferQueryInput } from '../../src/core/catalog/offer-query.js';
import { connectDaemon } from '../../src/core/client/index.js';
import { newToken } from '../../src/core/home/config-file.js';
import { createPainter } from '../../src/ui/colors.js';
import { newCli, type Cli } from './cli-harness.js';

/** An EC2 endpoint on loopback that only counts: offers come from catalogs, so it must see nothing. */
async function ec2Counter(): Promise<{ url: string; hits: string[]; server: Server }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.writeHead(500).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, server };
}

async function withoutCredentials(cli: Cli, ec2Url: string): Promise<void> {
  const empty = await mkdtemp(join(tmpdir(), 'dstack-e2e-nocreds-'));
  Object.assign(cli.env, {
    HOME: empty, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SESSION_TOKEN: '', AWS_PROFILE: '',
    AWS_CONFIG_FILE: join(empty, 'no-config'), AWS_SHARED_CREDENTIALS_FILE: join(empty, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true', AWS_ENDPOINT_URL: ec2Url, AWS_ENDPOINT_URL_EC2: ec2Url,
  });
}

const exists = (path: string) => access(path).then(() => true, () => false);

let cli: Cli | undefined;
let ec2: Awaited<ReturnType<typeof ec2Counter>> | undefined;
afterEach(async () => {
  ec2?.server.close();
  await cli?.cleanup([]);
  cli = undefined;
  ec2 = undefined;
});

describe('dstack offer for clouds only', () => {
  it('answers in the CLI of a fresh home: no daemon, no file, no EC2 call; --max-price honoured', async () => {
    cli = await newCli();
    ec2 = await ec2Counter();
    await withoutCredentials(cli, ec2.url);
    const r = await cli.run(['offer', '--backend', 'aws', '--gpu', 'A100', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const offers = (JSON.parse(r.stdout) as { offers: Offer[] }).offers;
    expect(offers.length).toBeGreaterThan(0);
    expect(offers.every((o) => o.backend === 'aws' && o.resources.gpus.every((g) => g.name === 'A100'))).toBe(true);
    expect(r.stderr).toBe('aws is not configured in config.yml; prices from the catalog of ' + (JSON.parse(r.stdout) as { catalogs: Array<{ date: string }> }).catalogs[0]?.date);

    // aws's A100s are p4d.24xlarge (under $25 in some regions) and p4de.24xlarge (above it everywhere).
    const cheap = await cli.run(['offer', '-b', 'aws', '-b', 'gcp', '--gpu', 'A100', '--max-price', '25', '--json']);
    expect(cheap.exitCode, cheap.stderr).toBe(0);
    const under = (JSON.parse(cheap.stdout) as { offers: Offer[]; total: number }).offers;
    expect(under.every((o) => o.price <= 25)).toBe(true);
    expect(new Set(under.map((o) => o.backend))).toEqual(new Set(['aws', 'gcp']));
    expect(under.some((o) => o.instanceType === 'p4d.24xlarge')).toBe(true);
    expect(offers.some((o) => o.instanceType === 'p4de.24xlarge')).toBe(true);
    expect(under.some((o) => o.instanceType === 'p4de.24xlarge')).toBe(false);

    const table = await cli.run(['offer', '-b', 'gcp', '--max-offers', '3']);
    expect(table.exitCode, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^#\s+BACKEND\s+RESOURCES\s+INSTANCE TYPE\s+PRICE/);
    expect(table.stdout).toMatch(/Shown 3 of \d+ offers/);

    const bad = await cli.run(['offer', '-b', 'aws', '--max-price', '0']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--max-price');

    expect(await readdir(cli.home)).toEqual([]);
    expect(await cli.daemonPid()).toBeUndefined();
    expect(ec2.hits).toEqual([]);
  }, 120_000);

  it('prints what the daemon answers for the same query; --backend local goes through the daemon', async () => {
    cli = await newCli();
    ec2 = await ec2Counter();
    await withoutCredentials(cli, ec2.url);
    const config = {
      version: 1, default_project: 'main', user: 'e2e', token: newToken(), server: { host: '127.0.0.1', port: cli.port },
      projects: [{ name: 'main', tokens: [], backends: [{ type: 'aws', creds: { type: 'default' }, regions: ['us-east-1', 'eu-west-1'] }] }],
    };
    await writeFile(join(cli.home, 'config.yml'), stringify(config), { mode: 0o600, flag: 'wx' });
    const queries: Array<[string[], OfferQueryInput, { json: boolean; max?: number }]> = [
      [['--backend', 'aws', '--gpu', 'A100', '--spot-auto', '--json'], { backends: ['aws'], gpu: 'A100', spotPolicy: 'auto' }, { json: true }],
      [['-b', 'aws', '-b', 'gcp', '--cpu', '8..', '--max-price', '1.5', '--max-offers', '7'], { backends: ['aws', 'gcp'], cpu: '8..', maxPrice: 1.5, maxOffers: 7 }, { json: false, max: 7 }],
    ];
    const direct = [];
    for (const [argv] of queries) {
      const r = await cli.run(['offer', ...argv]);
      expect(r.exitCode, r.stderr).toBe(0);
      direct.push(r);
    }
    expect(await exists(join(cli.home, 'server'))).toBe(false);

    const local = await cli.run(['offer', '--backend', 'local', '--json']);
    expect(local.exitCode, local.stderr).toBe(0);
    expect((JSON.parse(local.stdout) as { offers: Offer[] }).offers.map((o) => o.backend)).toEqual(['local']);
    expect(await cli.daemonPid()).toBeGreaterThan(0);

    const client = await connectDaemon({ env: { ...process.env, ...cli.env }, autoStart: false });
    try {
      for (const [i, [, input, how]] of queries.entries()) {
        const out = offersOutput(await client.offers(input), { ...how, painter: createPainter(false) });
        expect(direct[i]!.stdout).toBe(out.json ? JSON.stringify(out.json, null, 2) : out.text);
        expect(direct[i]!.stderr).toBe(out.notes.join('\n'));
      }
    } finally {
      await client.close();
    }
    // With the daemon up, a cloud-only query is still answered in the CLI, the same as before.
    const again = await cli.run(['offer', ...queries[0]![0]]);
    expect(again.stdout).toBe(direct[0]!.stdout);
    expect(ec2.hits).toEqual([]);
  }, 180_000);
});
