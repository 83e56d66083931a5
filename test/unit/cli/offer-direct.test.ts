/**
 * `dstack offer` answered in the CLI: the oclif command and main.ts's fast path print the same thing, neither asks
 * the daemon for a cloud-only query, `--backend local` still does, and `--max-price` is checked and honoured.
 */
import { Config } from '@oclif/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import Offer from '../../../src/commands/offer.js';
import { offerWithoutDaemon, parseDirectOfferArgv } from '../../../src/commands/offer-direct.js';
import { fakeOut } from '../ui/fake-streams.js';
import { startFakeDaemon, type FakeDaemon } from './fake-daemon.js';
import { offer } from './fixtures.js';
import { runCommand } from './run-command.js';

let config: Config;
let daemon: FakeDaemon | undefined;
beforeAll(async () => {
  config = await Config.load({ root: process.cwd(), pjson: { name: 'dstack', version: '0.0.0', oclif: { bin: 'dstack' } } });
});
afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
});

const envOf = (d: FakeDaemon) => ({ DSTACK_HOME: d.home, NO_COLOR: '1' });

async function direct(argv: string[], env: NodeJS.ProcessEnv, columns = 120) {
  const stdout = fakeOut({ columns });
  const stderr = fakeOut({ columns });
  const answered = await offerWithoutDaemon(argv, { stdout, stderr, env });
  return { answered, stdout: stdout.text(), stderr: stderr.text() };
}

describe('parseDirectOfferArgv', () => {
  it('reads plainly written flags as oclif would', () => {
    expect(parseDirectOfferArgv(['-b', 'aws', '--backend=gcp', '--gpu', 'A100:2', '-r', 'us-east-1', '--spot-auto', '--max-price', '12.5', '--max-offers=07', '--json'])).toEqual({
      input: { gpu: 'A100:2', backends: ['aws', 'gcp'], regions: ['us-east-1'], spotPolicy: 'auto', maxPrice: 12.5, maxOffers: 7 },
      json: true,
      max: 7,
    });
    expect(parseDirectOfferArgv([])).toEqual({ input: {}, json: false });
  });

  it.each([
    ['--help'], ['-v', '-b', 'aws'], ['-b', 'aws', '--verbose'], ['--frobnicate'], ['-baws'], ['-b'], ['-b', '--json'], ['--gpu', 'A100', '--gpu', 'H100'],
    ['--gpu='], ['--json', '--json'], ['--json=true'], ['--spot', '--on-demand'], ['--max-price', '0'], ['--max-price', 'cheap'], ['--max-price', '-1'],
    ['--max-offers', '0'], ['--max-offers', '2.5'], ['-b', 'aws', '--', 'x'], ['positional'],
  ])('leaves %j to oclif', (...argv) => {
    expect(parseDirectOfferArgv(argv)).toBeUndefined();
  });
});

describe('dstack offer without the daemon', () => {
  it.each([
    [['--backend', 'aws', '--gpu', 'A100', '--json']],
    [['-b', 'gcp', '--gpu', 'L4', '--spot-auto', '--max-offers', '4']],
    [['-b', 'aws', '--max-price', '0.05']],
    [['-b', 'aws', '--instance-type', 'no-such-type']],
  ])('%j: the command and the fast path print the same, and the daemon is not asked', async (argv) => {
    daemon = await startFakeDaemon({ offers: [offer()] });
    const viaOclif = await runCommand(config, Offer, argv, { env: envOf(daemon), columns: 120 });
    expect(viaOclif.code, viaOclif.stderr).toBe(0);
    const fast = await direct(argv, envOf(daemon));
    expect(fast).toEqual({ answered: true, stdout: viaOclif.stdout, stderr: viaOclif.stderr });
    expect(viaOclif.stderr).toMatch(/is not configured in config\.yml/);
    expect(daemon.state.requests).toEqual([]);
  });

  it('--backend local goes to the daemon, and the fast path leaves it alone', async () => {
    daemon = await startFakeDaemon({ offers: [offer()] });
    expect(await direct(['--backend', 'local', '--json'], envOf(daemon))).toEqual({ answered: false, stdout: '', stderr: '' });
    const r = await runCommand(config, Offer, ['--backend', 'local', '--json'], { env: envOf(daemon) });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).offers[0].backend).toBe('local');
    expect(daemon.state.requests.map((q) => q.url)).toContain('/api/offers?backend=local');
  });

  it('--max-price must be a positive number: a usage error naming the flag, in JSON too', async () => {
    daemon = await startFakeDaemon();
    for (const bad of ['0', '-3', 'cheap', '']) {
      const r = await runCommand(config, Offer, ['-b', 'aws', '--max-price', bad], { env: envOf(daemon) });
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toMatch(/--max-price.*expected a positive number of dollars per hour/);
    }
    const json = await runCommand(config, Offer, ['-b', 'aws', '--max-price=0', '--json'], { env: envOf(daemon) });
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: 'USAGE', message: expect.stringContaining('--max-price') });
    expect(daemon.state.requests).toEqual([]);
  });

  it('--max-price reaches the daemon for what it answers', async () => {
    daemon = await startFakeDaemon({ offers: [offer()] });
    await runCommand(config, Offer, ['--max-price', '1.25', '--json'], { env: envOf(daemon) });
    expect(daemon.state.requests.at(-1)?.url).toBe('/api/offers?max_price=1.25');
  });
});
