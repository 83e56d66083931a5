/**
 * Issue 13 end to end with the built CLI and the daemon it starts: a backend fleet `nodes: 0..1` on AWS (moto behind
 * the test's EC2 front, whose instance addresses are network-namespace test hosts) and a `replicas: 1` service on it.
 * The instance is created when the run needs it, bootstrapped over SSH, serves through the proxy, is terminated once
 * idle after `dstack stop`, and is replaced (with the reason shown) when it is interrupted or terminated behind
 * dstack's back; `dstack offer` lists aws offers without any credentials. After each test every moto instance is
 * terminated and the hosts keep nothing of it. Needs root, `scripts/test-hosts.sh up 3`, moto and `npm run build`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { Offer, RunView } from '../../src/core/api.js';
import { TEST_ACCESS_KEY, TEST_SECRET_KEY, useAwsHarness } from '../helpers/aws/harness.js';
import { holdTestHosts, type TestHost } from '../helpers/test-hosts.js';
import { echoServiceYaml, eventually, newCli, uniqueName, type Cli } from './cli-harness.js';
import {
  agentPids, answers, foreignAddresses, motoInstances, newCloudCli, powerOff, runContainers, runInstancesTags, terminateInMoto, textsToSearch, type CloudCli, type MotoInstance,
} from './cloud-harness.js';

holdTestHosts();
const aws = useAwsHarness();

const fleetYaml = (name: string, idle: string) => `type: fleet
name: ${name}
nodes: 0..1
resources:
  cpu: 2..
  memory: 4GB..
  disk: 20GB..
  gpu: 0
idle_duration: ${idle}
`;
const serviceYaml = (run: string, fleet: string, extra = '') => `${echoServiceYaml(run, 1)}fleets: [${fleet}]
stop_duration: 1s
resources:
  cpu: 1..
  memory: 0.25GB..
  disk: 1GB..
${extra}`;

const readyReplicas = (v: RunView | undefined) => v?.replicas.filter((r) => r.status === 'running' && r.ready) ?? [];
const live = (all: MotoInstance[], fleet: string) => all.filter((i) => i.state !== 'terminated' && i.tags.dstack_fleet === fleet);

/** Per test: the CLI, its fleet and runs; torn down (and checked) after it. */
let current: { cli: CloudCli; fleet: string; runs: string[]; applied: boolean } | undefined;

async function start(idle: string): Promise<{ cli: CloudCli; fleet: string }> {
  const cli = await newCloudCli([aws.config()], aws.env());
  const fleet = uniqueName('e2e-aws');
  current = { cli, fleet, runs: [], applied: false };
  const applied = await cli.run(['apply', '-f', await cli.write('fleet.dstack.yml', fleetYaml(fleet, idle)), '-y']);
  expect(applied.exitCode, applied.stderr).toBe(0);
  // The plan says which day the offers' prices are from.
  expect(`${applied.stdout}${applied.stderr}`).toMatch(/Prices of \d{4}-\d{2}-\d{2} \(aws, shipped catalog\)/);
  current.applied = true;
  return { cli, fleet };
}

/** Applies the service detached and waits for its replica to be ready; returns the instance it runs on in moto. */
async function serve(cli: CloudCli, fleet: string, run: string, extra = ''): Promise<{ view: RunView; instance: MotoInstance; host: TestHost }> {
  current?.runs.push(run);
  const applied = await cli.run(['apply', '-f', await cli.write(`${run}.dstack.yml`, serviceYaml(run, fleet, extra)), '-y', '-d']);
  expect(applied.exitCode, applied.stderr).toBe(0);
  expect(`${applied.stdout}${applied.stderr}`).toMatch(/Prices of \d{4}-\d{2}-\d{2} \(aws, shipped catalog\)/);
  const view = await eventually(`${run} ready`, async () => {
    const v = (await cli.ps()).find((r) => r.name === run);
    return readyReplicas(v).length === 1 ? v : undefined;
  }, 300_000);
  const instanceName = readyReplicas(view)[0]?.instance;
  const instance = live(await motoInstances(aws), fleet).find((i) => i.tags.dstack_instance === instanceName);
  expect(instance, `a running moto instance tagged dstack_instance=${instanceName}`).toBeDefined();
  const host = aws.front.hostOf(instance!.id);
  expect(host, `instance ${instance!.id} points at a namespace host`).toBeDefined();
  return { view, instance: instance!, host: host! };
}

afterEach(async () => {
  if (!current) return;
  const { cli, fleet, runs, applied } = current;
  current = undefined;
  const problems: string[] = [];
  try {
    for (const run of runs) await cli.run(['stop', run, '-y', '-x']);
    const deleted = await cli.run(['fleet', 'delete', fleet, '-y']);
    if (applied && deleted.exitCode !== 0) problems.push(`dstack fleet delete exited ${deleted.exitCode}: ${deleted.stderr}`);
    const left = await eventually('every moto instance terminated', async () => {
      const running = (await motoInstances(aws)).filter((i) => i.state !== 'terminated');
      return running.length === 0 ? [] : undefined;
    }, 120_000).catch(async () => (await motoInstances(aws)).filter((i) => i.state !== 'terminated'));
    if (left.length > 0) problems.push(`instances left in moto: ${left.map((i) => `${i.id} (${i.state})`).join(', ')}`);
    const leaked = (await textsToSearch(cli)).filter((t) => t.includes(TEST_SECRET_KEY) || t.includes(TEST_ACCESS_KEY));
    if (leaked.length > 0) problems.push(`credentials appear in output, logs or state: ${leaked.map((t) => t.slice(0, 200)).join(' | ')}`);
  } finally {
    await cli.cleanup(runs);
    for (const h of aws.hosts) await powerOff(h, runs);
  }
  for (const h of aws.hosts) {
    if (agentPids(h).length > 0) problems.push(`${h.name} still runs a dstack-agent`);
    if ((await runContainers(h, runs)).length > 0) problems.push(`${h.name} still has containers of ${runs.join(', ')}`);
  }
  expect(problems).toEqual([]);
}, 300_000);

describe('a backend fleet on AWS (moto) and a service, with the built CLI', () => {
  it('creates the instance the run needs, serves through it, terminates it once idle, and creates a new one for the next run', async () => {
    const { cli, fleet } = await start('10s');
    expect(aws.front.callsTo('RunInstances'), 'nodes 0..1 provisions min (0) instances on apply').toEqual([]);

    const run = uniqueName('e2e-awssvc');
    const first = await serve(cli, fleet, run);
    const created = aws.front.callsTo('RunInstances').filter((c) => c.status === 200);
    expect(created).toHaveLength(1);
    expect(runInstancesTags(created[0]!.params)).toMatchObject({ dstack_project: 'main', dstack_fleet: fleet, dstack_instance: readyReplicas(first.view)[0]!.instance });
    expect(first.instance.tags).toMatchObject({ dstack_project: 'main', dstack_fleet: fleet });
    // The agent went in over SSH to the host the instance's address points at, and the replica runs there.
    expect(agentPids(first.host).length).toBeGreaterThan(0);
    expect(await runContainers(first.host, [run], false)).toHaveLength(1);
    expect(await answers(cli, run)).toEqual([200, 200, 200]);
    expect(await foreignAddresses(cli, aws.hosts)).toEqual([]);
    const view = (await cli.fleets()).find((f) => f.name === fleet);
    expect(view?.instances.find((i) => i.name === readyReplicas(first.view)[0]!.instance)?.host).toContain(first.host.ip);

    const stopped = await cli.run(['stop', run, '-y']);
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    await eventually(`${run} terminated`, async () => ((await cli.ps()).find((r) => r.name === run)?.status === 'terminated' ? true : undefined), 120_000);
    expect(await runContainers(first.host, [run], false)).toEqual([]);
    // idle_duration 10s above min 0: dstack terminates the instance it created, through EC2.
    await eventually('the idle instance terminated in moto', async () => ((await motoInstances(aws)).find((i) => i.id === first.instance.id)?.state === 'terminated' ? true : undefined), 120_000);
    expect(aws.front.callsTo('TerminateInstances').some((c) => Object.values(c.params).includes(first.instance.id))).toBe(true);
    await powerOff(first.host, [run]);

    const again = uniqueName('e2e-awssvc');
    const second = await serve(cli, fleet, again);
    expect(second.instance.id).not.toBe(first.instance.id);
    expect(aws.front.callsTo('RunInstances').filter((c) => c.status === 200)).toHaveLength(2);
    expect(live(await motoInstances(aws), fleet).map((i) => i.id)).toEqual([second.instance.id]);
    expect(await answers(cli, again)).toEqual([200, 200, 200]);
    expect(await foreignAddresses(cli, aws.hosts)).toEqual([]);
  }, 900_000);

  it('replaces the replica on a new instance when its instance is interrupted or terminated behind dstack\'s back, and says why', async () => {
    const { cli, fleet } = await start('1h');
    const run = uniqueName('e2e-awsint');
    const retry = 'retry:\n  on_events: [interruption, error]\n  duration: 1h\n';
    const first = await serve(cli, fleet, run, retry);

    await aws.front.interruptSpot(first.instance.id);
    await powerOff(first.host, [run]);
    const second = await eventually('a replacement on a new instance', async () => {
      const v = (await cli.ps()).find((r) => r.name === run);
      const replica = readyReplicas(v)[0];
      const instance = live(await motoInstances(aws), fleet).find((i) => i.tags.dstack_instance === replica?.instance);
      return instance && instance.id !== first.instance.id ? instance : undefined;
    }, 300_000);
    expect(await answers(cli, run)).toEqual([200, 200, 200]);
    const interrupted = (await cli.fleets()).find((f) => f.name === fleet)?.instances.find((i) => i.name === first.instance.tags.dstack_instance);
    expect(interrupted?.status).toBe('terminated');
    expect(JSON.stringify(interrupted)).toMatch(/interrupt/i);
    const ps = await cli.run(['ps', '-v']);
    expect(ps.exitCode, ps.stderr).toBe(0);
    expect(ps.stdout).toMatch(/interrupt/i);

    const secondHost = aws.front.hostOf(second.id)!;
    await terminateInMoto(aws, second.id);
    await powerOff(secondHost, [run], second.id);
    const third = await eventually('a second replacement', async () => {
      const v = (await cli.ps()).find((r) => r.name === run);
      const instance = live(await motoInstances(aws), fleet).find((i) => i.tags.dstack_instance === readyReplicas(v)[0]?.instance);
      return instance && ![first.instance.id, second.id].includes(instance.id) ? instance : undefined;
    }, 300_000);
    expect(third.id).toBeDefined();
    expect(await answers(cli, run)).toEqual([200, 200, 200]);
    const gone = (await cli.fleets()).find((f) => f.name === fleet)?.instances.find((i) => i.name === second.tags.dstack_instance);
    expect(gone?.status).toBe('terminated');
    expect(JSON.stringify(gone)).toMatch(/terminated[ _]externally/i);
    expect(await foreignAddresses(cli, aws.hosts)).toEqual([]);
  }, 900_000);
});

describe('dstack offer without credentials', () => {
  /** An EC2 endpoint on loopback that only counts: offers come from the catalog, so it must see nothing. */
  async function recorder(): Promise<{ url: string; hits: string[]; server: Server }> {
    const hits: string[] = [];
    const server = createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`);
      res.writeHead(500).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, server };
  }

  const cases: Array<[string, (cli: Cli) => Promise<void>]> = [
    ['a fresh home (no config.yml)', async () => undefined],
    ['a home whose aws backend uses the default chain, which finds nothing', async (cli) => {
      const { writeFile } = await import('node:fs/promises');
      const { stringify } = await import('yaml');
      const { newToken } = await import('../../src/core/home/config-file.js');
      const config = { version: 1, default_project: 'main', user: 'e2e', token: newToken(), server: { host: '127.0.0.1', port: cli.port }, projects: [{ name: 'main', tokens: [], backends: [{ type: 'aws', creds: { type: 'default' } }] }] };
      await writeFile(join(cli.home, 'config.yml'), stringify(config), { mode: 0o600, flag: 'wx' });
    }],
  ];

  it.each(cases)('`dstack offer --backend aws --gpu A100 --json` lists catalog offers in %s, calling no AWS API', async (_what, prepare) => {
    const cli = await newCli();
    const ec2 = await recorder();
    try {
      await prepare(cli);
      const empty = await mkdtemp(join(tmpdir(), 'dstack-e2e-nocreds-'));
      const env = {
        HOME: empty,
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
        AWS_SESSION_TOKEN: '',
        AWS_PROFILE: '',
        AWS_CONFIG_FILE: join(empty, 'no-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(empty, 'no-credentials'),
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_ENDPOINT_URL: ec2.url,
        AWS_ENDPOINT_URL_EC2: ec2.url,
      };
      Object.assign(cli.env, env);
      const r = await cli.run(['offer', '--backend', 'aws', '--gpu', 'A100', '--json']);
      expect(r.exitCode, r.stderr).toBe(0);
      const offers = (JSON.parse(r.stdout) as { offers: Offer[] }).offers;
      expect(offers.length).toBeGreaterThan(0);
      for (const o of offers) {
        expect(o.backend).toBe('aws');
        expect(o.resources.gpus.length).toBeGreaterThan(0);
        expect(o.resources.gpus.every((g) => g.name === 'A100')).toBe(true);
      }
      expect(offers.some((o) => o.instanceType.startsWith('p4d.'))).toBe(true);
      const prices = offers.map((o) => o.price);
      expect(prices).toEqual([...prices].sort((a, b) => a - b));
      expect(ec2.hits).toEqual([]);
    } finally {
      ec2.server.close();
      await cli.cleanup([]);
    }
  }, 120_000);
});
