/**
 * Issue 13, the parts of a cloud fleet's life that cloud-aws.test.ts does not cover, with the built CLI and the
 * daemon it starts, against moto behind the test's EC2 front: `nodes: 2` created, listed and deleted (and nothing
 * else of the account touched), a daemon killed while RunInstances was in flight (its VM swept at the next start,
 * with a stray tagged one), a fleet no configured backend can serve, and a fleet no offer fits. After each test no
 * moto instance runs and the hosts keep no agent. Needs root, `scripts/test-hosts.sh up 3`, moto and `npm run build`.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FleetView } from '../../src/core/api.js';
import { TEST_ACCESS_KEY, TEST_SECRET_KEY, useAwsHarness } from '../helpers/aws/harness.js';
import { holdTestHosts } from '../helpers/test-hosts.js';
import { eventually, uniqueName } from './cli-harness.js';
import {
  agentPids, foreignAddresses, launchInMoto, motoInstances, newCloudCli, powerOff, runInstancesTags, terminateInMoto, textsToSearch, type CloudCli, type MotoInstance,
} from './cloud-harness.js';

holdTestHosts();
const aws = useAwsHarness();

const fleetYaml = (name: string, nodes: string, extra = '') => `type: fleet
name: ${name}
nodes: ${nodes}
resources:
  cpu: 2..
  memory: 4GB..
  disk: 20GB..
  gpu: 0
idle_duration: 1h
${extra}`;

const live = (all: MotoInstance[], fleet: string) => all.filter((i) => i.state !== 'terminated' && i.tags.dstack_fleet === fleet);
const terminateCallsFor = (id: string) => aws.front.callsTo('TerminateInstances').filter((c) => Object.values(c.params).includes(id));
const fleetOf = async (cli: CloudCli, name: string): Promise<FleetView | undefined> => (await cli.fleets()).find((f) => f.name === name);

/** Per test: the CLI, its fleet, and instances the test made in moto itself (terminated by the test at the end). */
let current: { cli: CloudCli; fleet: string; applied: boolean; own: string[] } | undefined;

async function begin(backends = [aws.config()]): Promise<{ cli: CloudCli; fleet: string }> {
  const cli = await newCloudCli(backends, aws.env());
  const fleet = uniqueName('e2e-awsfl');
  current = { cli, fleet, applied: false, own: [] };
  return { cli, fleet };
}

/** `dstack apply -f <fleet yaml> -y [more]`, remembered for the after-test delete. */
async function applyFleet(cli: CloudCli, fleet: string, yaml: string, ...more: string[]) {
  if (current) current.applied = true;
  return cli.run(['apply', '-f', await cli.write(`${fleet}.dstack.yml`, yaml), '-y', ...more]);
}

/** Dead or a zombie: either way it holds no socket any more. */
function exited(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

afterEach(async () => {
  if (!current) return;
  const { cli, fleet, applied, own } = current;
  current = undefined;
  const problems: string[] = [];
  try {
    if (applied) {
      const deleted = await cli.run(['fleet', 'delete', fleet, '-y']);
      if (deleted.exitCode !== 0) problems.push(`dstack fleet delete exited ${deleted.exitCode}: ${deleted.stderr}`);
    }
    for (const id of own) await terminateInMoto(aws, id).catch(() => undefined);
    const left = await eventually('every moto instance terminated', async () => {
      const running = (await motoInstances(aws)).filter((i) => i.state !== 'terminated');
      return running.length === 0 ? [] : undefined;
    }, 120_000).catch(async () => (await motoInstances(aws)).filter((i) => i.state !== 'terminated'));
    if (left.length > 0) problems.push(`instances left in moto: ${left.map((i) => `${i.id} (${i.state})`).join(', ')}`);
    const leaked = (await textsToSearch(cli)).filter((t) => t.includes(TEST_SECRET_KEY) || t.includes(TEST_ACCESS_KEY));
    if (leaked.length > 0) problems.push(`credentials appear in output, logs or state: ${leaked.map((t) => t.slice(0, 200)).join(' | ')}`);
  } finally {
    await cli.cleanup([]);
    for (const h of aws.hosts) await powerOff(h, []);
  }
  for (const h of aws.hosts) if (agentPids(h).length > 0) problems.push(`${h.name} still runs a dstack-agent`);
  expect(problems).toEqual([]);
}, 300_000);

describe('cloud fleets on AWS (moto), with the built CLI', () => {
  it('`nodes: 2` creates two tagged instances that join, lists them, and `fleet delete` terminates exactly those two', async () => {
    const { cli, fleet } = await begin();
    const applied = await applyFleet(cli, fleet, fleetYaml(fleet, '2'));
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(applied.stderr).toContain(`Fleet ${fleet}: 2 of 2 instances joined`);

    const view = await fleetOf(cli, fleet);
    expect(view?.status).toBe('active');
    expect(view?.nodes).toEqual({ min: 2, target: 2, max: 2 });
    expect(view?.instances.map((i) => [i.name, i.status]).sort()).toEqual([[`${fleet}-0`, 'idle'], [`${fleet}-1`, 'idle']]);
    for (const i of view!.instances) expect(i.cloud).toMatchObject({ region: 'us-east-1', spot: false, instanceId: expect.stringMatching(/^i-/) });
    const ids = view!.instances.map((i) => i.cloud!.instanceId).sort();

    const created = aws.front.callsTo('RunInstances').filter((c) => c.status === 200);
    expect(created.map((c) => runInstancesTags(c.params).dstack_instance).sort()).toEqual([`${fleet}-0`, `${fleet}-1`]);
    const mine = live(await motoInstances(aws), fleet);
    expect(mine.map((i) => i.id).sort()).toEqual(ids);
    for (const i of mine) {
      expect(i.tags).toMatchObject({ dstack_project: 'main', dstack_fleet: fleet });
      expect(view!.instances.find((v) => v.cloud?.instanceId === i.id)?.name).toBe(i.tags.dstack_instance);
    }
    // Each joined over SSH on its own namespace host: two hosts, each running an agent.
    const hosts = ids.map((id) => aws.front.hostOf(id));
    expect(new Set(hosts.map((h) => h?.ip)).size).toBe(2);
    for (const h of hosts) expect(agentPids(h!).length).toBeGreaterThan(0);
    expect(await foreignAddresses(cli, aws.hosts)).toEqual([]);

    // The same account holds an instance of another fleet of this project and one dstack never tagged.
    const otherFleet = await launchInMoto(aws, { dstack_project: 'main', dstack_fleet: `${fleet}-other`, dstack_instance: `${fleet}-other-0` });
    const untagged = await launchInMoto(aws);
    current!.own.push(otherFleet, untagged);

    const table = await cli.run(['fleet']);
    expect(table.exitCode, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/NAME\s+NODES\s+GPU\s+SPOT\s+BACKEND\s+PRICE\s+STATUS\s+CREATED/);
    const fleetRow = table.stdout.split('\n').find((l) => l.startsWith(fleet));
    expect(fleetRow).toMatch(new RegExp(`^${fleet}\\s+2\\s+active`));
    for (const n of [0, 1]) {
      const row = table.stdout.split('\n').find((l) => l.trim().startsWith(`${fleet}-${n} `));
      expect(row, `a row for ${fleet}-${n} in:\n${table.stdout}`).toMatch(/on-demand\s+aws \(us-east-1\)\s+\$[\d.]+\s+idle/);
    }

    const deleted = await cli.run(['fleet', 'delete', fleet, '-y']);
    expect(deleted.exitCode, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain(`Fleet ${fleet} deleted`);
    current!.applied = false;
    const states = new Map((await motoInstances(aws)).map((i) => [i.id, i.state]));
    expect(ids.map((id) => states.get(id))).toEqual(['terminated', 'terminated']);
    expect(states.get(otherFleet)).not.toBe('terminated');
    expect(states.get(untagged)).not.toBe('terminated');
    const terminated = aws.front.callsTo('TerminateInstances').flatMap((c) => Object.entries(c.params).filter(([k]) => /^InstanceId\.\d+$/.test(k)).map(([, v]) => v));
    expect([...new Set(terminated)].sort()).toEqual(ids);
    expect((await fleetOf(cli, fleet))?.status).toBe('terminated');
    for (const h of hosts) expect(agentPids(h!)).toEqual([]);
  }, 600_000);

  it('a daemon killed while RunInstances was in flight: the next start terminates that VM and a stray tagged one, then creates the instance anew', async () => {
    const { cli, fleet } = await begin();
    const paused = aws.front.pause('RunInstances');
    const applied = await applyFleet(cli, fleet, fleetYaml(fleet, '1'), '-d');
    expect(applied.exitCode, applied.stderr).toBe(0);
    await paused.reached;
    // The record exists without a VM id on disk, as it would when the process dies mid-call.
    const stateFile = join(cli.home, 'server/state.json');
    await eventually('the instance record on disk', async () => {
      const state = JSON.parse(await readFile(stateFile, 'utf8')) as { instances: Array<{ name: string; status: string; cloud?: unknown }> };
      const rec = state.instances.find((i) => i.name === `${fleet}-0`);
      return rec?.status === 'provisioning' && rec.cloud === undefined ? true : undefined;
    });
    const pid = (await cli.daemonPid())!;
    process.kill(pid, 'SIGKILL');
    await eventually('the daemon gone', async () => (exited(pid) ? true : undefined));
    paused.release();
    const orphan = await eventually('the VM of the dead call in moto', async () => live(await motoInstances(aws), fleet).find((i) => i.tags.dstack_instance === `${fleet}-0`));
    expect(orphan.tags).toMatchObject({ dstack_project: 'main', dstack_fleet: fleet });
    // One no record ever named, as a daemon that died before storing anything would leave.
    const stray = await launchInMoto(aws, { dstack_project: 'main', dstack_fleet: fleet, dstack_instance: `${fleet}-7` });

    const listed = await cli.run(['fleet', '--json']);
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(await cli.daemonPid()).not.toBe(pid);
    await eventually('both orphans terminated in moto', async () => {
      const states = new Map((await motoInstances(aws)).map((i) => [i.id, i.state]));
      return states.get(orphan.id) === 'terminated' && states.get(stray) === 'terminated' ? true : undefined;
    }, 120_000);
    expect(terminateCallsFor(orphan.id).length).toBeGreaterThan(0);
    expect(terminateCallsFor(stray).length).toBeGreaterThan(0);

    const joined = await eventually('the instance created anew and joined', async () => {
      const i = (await fleetOf(cli, fleet))?.instances.find((x) => x.name === `${fleet}-0`);
      return i?.status === 'idle' ? i : undefined;
    }, 300_000);
    expect(joined.cloud?.instanceId).toBeDefined();
    expect([orphan.id, stray]).not.toContain(joined.cloud!.instanceId);
    expect(live(await motoInstances(aws), fleet).map((i) => i.id)).toEqual([joined.cloud!.instanceId]);
    expect(await foreignAddresses(cli, aws.hosts)).toEqual([]);
  }, 600_000);

  const noBackend: Array<[string, () => ReturnType<typeof begin>, string, string]> = [
    ['`backends: [gcp]` with only aws configured', () => begin(), 'backends: [gcp]\n', 'gcp'],
    ['a home without any cloud backend', () => begin([]), '', 'aws'],
  ];

  it.each(noBackend)('%s: apply fails naming config.yml and the backend to add, and stores nothing', async (_what, start, extra, wanted) => {
    const { cli, fleet } = await start();
    const applied = await cli.run(['apply', '-f', await cli.write(`${fleet}.dstack.yml`, fleetYaml(fleet, '1', extra)), '-y']);
    expect(applied.exitCode).not.toBe(0);
    expect(applied.stderr).toContain(join(cli.home, 'config.yml'));
    expect(applied.stderr).toContain(`projects[main].backends`);
    expect(applied.stderr).toContain(`- type: ${wanted}`);
    expect((await cli.fleets()).map((f) => f.name)).not.toContain(fleet);
    expect(await readFile(join(cli.home, 'server/state.json'), 'utf8').catch(() => '')).not.toContain(fleet);
    expect(aws.front.callsTo('RunInstances')).toEqual([]);
  }, 300_000);

  it('no offer fits (`max_price: 0.0001`): the plan says so, the instance ends provisioning_failed with the reason, the CLI fails, moto gets nothing', async () => {
    const { cli, fleet } = await begin();
    const applied = await applyFleet(cli, fleet, fleetYaml(fleet, '1', 'max_price: 0.0001\n'));
    expect(applied.exitCode).not.toBe(0);
    expect(applied.stdout).toContain("No offers match this fleet's resources/backends/regions.");
    expect(applied.stderr).toContain(`No instance of fleet ${fleet} joined`);
    const view = await fleetOf(cli, fleet);
    expect(view?.status).toBe('failed');
    const instance = view?.instances.find((i) => i.name === `${fleet}-0`);
    expect(instance).toMatchObject({ status: 'terminated', terminationReason: 'provisioning_failed' });
    expect(instance?.error).toMatch(/no aws offer matches the fleet/);
    expect(instance?.error).toContain('max_price');
    expect(applied.stderr).toContain(instance!.error!);
    expect(aws.front.callsTo('RunInstances')).toEqual([]);
    expect(await motoInstances(aws)).toEqual([]);
  }, 300_000);
});
