/**
 * Issue 16 end to end with the built CLI and the daemon it starts: a backend fleet `nodes: 0..1` on GCP — the real
 * @google-cloud/compute client in the daemon against the Compute Engine fake (test/helpers/gcp-fake, reached through
 * DSTACK_GCP_ENDPOINT), whose instances get a network-namespace test host as their address — and a service on it.
 * The VM is created when the run needs it, bootstrapped over SSH, serves through the proxy, and is deleted once idle
 * after `dstack stop`. A "guest agent" loop here does what GCE's does: the `ssh-keys` metadata line of each running
 * instance goes into its host's authorized_keys, and out again once the instance is gone.
 * Needs root, `scripts/test-hosts.sh up 3` and `npm run build`.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '../../src/core/api.js';
import type { GcpBackendConfig } from '../../src/core/home/backends-config.js';
import { startGcpFake, type GcpFake } from '../helpers/gcp-fake/server.js';
import { holdTestHosts, loadTestHosts, type TestHost } from '../helpers/test-hosts.js';
import { echoServiceYaml, eventually, uniqueName } from './cli-harness.js';
import { agentPids, answers, foreignAddresses, newCloudCli, powerOff, runContainers, textsToSearch, type CloudCli } from './cloud-harness.js';

holdTestHosts();

type Json = Record<string, unknown>;
let fake: GcpFake;
let hosts: TestHost[] = [];
let guestAgent: NodeJS.Timeout | undefined;
/** instance name → [authorized_keys file, the line added for it]. */
const authorized = new Map<string, [string, string]>();

const keysFile = (host: TestHost): string => `${dirname(host.dockerHost.replace(/^unix:\/\//, ''))}/authorized_keys`;

function rewrite(file: string, edit: (lines: string[]) => string[]): void {
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  const tmp = `${file}.gcp-e2e-${process.pid}`;
  writeFileSync(tmp, `${edit(lines).join('\n')}\n`);
  renameSync(tmp, file);
}

/** One pass of the guest agent: keys in for running instances on a test host, out for instances that are gone. */
function syncKeys(): void {
  const live = new Map<string, Json>();
  for (const i of fake.instances()) if (i.status === 'RUNNING') live.set(String(i.name), i);
  for (const [name, [file, line]] of authorized) {
    if (live.has(name)) continue;
    rewrite(file, (lines) => lines.filter((l) => l !== line));
    authorized.delete(name);
  }
  for (const [name, instance] of live) {
    if (authorized.has(name)) continue;
    const nic = ((instance.networkInterfaces as Json[] | undefined) ?? [])[0];
    const host = hosts.find((h) => h.ip === nic?.networkIP);
    const items = ((instance.metadata as Json | undefined)?.items as { key: string; value: string }[] | undefined) ?? [];
    const sshKeys = items.find((it) => it.key === 'ssh-keys')?.value ?? '';
    const [type, blob] = sshKeys.split('\n')[0]?.replace(/^[^:]+:/, '').trim().split(/\s+/) ?? [];
    if (!host || !type || !blob) continue;
    const line = `${type} ${blob} gcp-guest-agent:${name}`;
    rewrite(keysFile(host), (lines) => [...lines, line]);
    authorized.set(name, [keysFile(host), line]);
  }
}

beforeAll(async () => {
  hosts = loadTestHosts(1).hosts;
  fake = await startGcpFake({ addresses: hosts.map((h) => h.ip) });
  guestAgent = setInterval(syncKeys, 100);
});

afterAll(async () => {
  clearInterval(guestAgent);
  for (const name of [...authorized.keys()]) {
    const [file, line] = authorized.get(name)!;
    rewrite(file, (lines) => lines.filter((l) => l !== line));
  }
  await fake?.close();
});

const config = (): GcpBackendConfig => ({
  type: 'gcp',
  project_id: fake.project,
  creds: { type: 'service_account', filename: fake.credentialsFile },
  regions: ['us-central1'],
  public_ips: true,
  // The namespace hosts' sshd lets root in.
  os_images: { cpu: { family: 'ubuntu-2204-lts', project: 'ubuntu-os-cloud', user: 'root' } },
});

/** Seed 004's Mistral service on vLLM (dstack's plan there: g2-standard-4 spot, one row per region). */
const seedServiceYaml = (name: string, fleet: string) => `type: service
name: ${name}
python: "3.11"
env:
  - MODEL_ID=mistralai/Mistral-7B-Instruct-v0.2
port: 8000
resources:
  gpu: 24GB
spot_policy: auto
fleets: [${fleet}]
commands:
  - pip install vllm
  - python -m vllm.entrypoints.openai.api_server --model $MODEL_ID --port 8000
model:
  format: openai
  type: chat
  name: mistral-7b-it
`;

const fleetYaml = (name: string) => `type: fleet
name: ${name}
nodes: 0..1
backends: [gcp]
instance_types: [e2-standard-2]
resources:
  cpu: 2..
  memory: 4GB..
  disk: 20GB..
  gpu: 0
idle_duration: 5s
`;

const readyReplicas = (v: RunView | undefined) => v?.replicas.filter((r) => r.status === 'running' && r.ready) ?? [];

describe('a backend fleet on GCP (the Compute Engine fake) and a service, with the built CLI', () => {
  it('offer lists g2-standard-4 once per region, spot first, its zones on the offer; the plan of seed 004\'s service shows each region once too; nothing is created', async () => {
    const regions = ['us-central1', 'us-east1', 'us-west1'];
    const cli = await newCloudCli([{ ...config(), regions }], { DSTACK_GCP_ENDPOINT: fake.endpoint });
    const fleet = uniqueName('e2e-gcpl4');
    try {
      const query = ['offer', '--backend', 'gcp', '--gpu', 'L4', '--spot-auto', '--instance-type', 'g2-standard-4'];
      const listed = await cli.run([...query, '--json']);
      expect(listed.exitCode, listed.stderr).toBe(0);
      const offers = (JSON.parse(listed.stdout) as { offers: Json[]; total: number }).offers;
      // Spot in each region first (cheapest), then on demand in each; no region twice, its zones on the one offer.
      expect(offers.map((o) => [o.spot, o.region, o.zones])).toEqual([
        [true, 'us-east1', ['us-east1-b', 'us-east1-c', 'us-east1-d']],
        [true, 'us-central1', ['us-central1-a', 'us-central1-b', 'us-central1-c']],
        [true, 'us-west1', ['us-west1-a', 'us-west1-b']],
        ...[false, false, false].map(() => [false, expect.any(String), expect.any(Array)]),
      ]);
      expect(new Set(offers.filter((o) => !o.spot).map((o) => o.region))).toEqual(new Set(regions));
      const table = await cli.run([...query, '--max-offers', '3']);
      expect(table.exitCode, table.stderr).toBe(0);
      const rows = table.stdout.split('\n').filter((l) => /^\d+\s+gcp/.test(l));
      expect(rows.map((l) => [/gcp \(([^)]+)\)/.exec(l)?.[1], /\bg2-standard-4\b/.test(l), /\(spot\)/.test(l)])).toEqual([
        ['us-east1', true, true],
        ['us-central1', true, true],
        ['us-west1', true, true],
      ]);
      expect(table.stdout).toMatch(/Shown 3 of 6 offers/);

      const fleetApplied = await cli.run(['apply', '-f', await cli.write('l4.dstack.yml', `type: fleet\nname: ${fleet}\nnodes: 0..1\nbackends: [gcp]\nresources:\n  gpu: 24GB\nspot_policy: auto\n`), '-y']);
      expect(fleetApplied.exitCode, fleetApplied.stderr).toBe(0);
      // The plan of seed 004's service on that fleet (no terminal to confirm: it stops after the plan).
      const run = uniqueName('e2e-gcpplan');
      const planned = await cli.run(['apply', '-f', await cli.write('serve.dstack.yml', seedServiceYaml(run, fleet)), '--max-offers', '10'], { input: 'n\n' });
      expect(planned.stdout).toMatch(/Spot policy\s+auto/);
      const planRows = planned.stdout
        .split('\n')
        .filter((l) => /^\d+\s+gcp/.test(l))
        .map((l) => `${/gcp \(([^)]+)\)/.exec(l)?.[1]} ${/\s(g2-standard-\d+)\s/.exec(l)?.[1]}${/\(spot\)/.test(l) ? ' spot' : ''}`);
      expect(planRows).toHaveLength(10);
      const g2 = planRows.filter((r) => r.includes(' g2-standard-4'));
      expect(new Set(g2.map((r) => r.split(' ')[0]))).toEqual(new Set(regions));
      expect(new Set(planRows).size, 'one row per region, machine and purchase option').toBe(planRows.length);
      expect(planned.stdout).toMatch(/Shown 10 of \d+ offers, \$[\d.]+ max/);
      expect((await cli.ps()).find((r) => r.name === run), 'a plan submits nothing').toBeUndefined();
      expect(fake.requestsTo('POST', /\/instances$/), 'a plan creates nothing').toEqual([]);
    } finally {
      await cli.run(['fleet', 'delete', fleet, '-y']);
      await cli.cleanup([]);
    }
  }, 120_000);

  it('creates the VM the run needs, serves through it, and deletes it once idle after stop', async () => {
    const cli = await newCloudCli([config()], { DSTACK_GCP_ENDPOINT: fake.endpoint });
    const fleet = uniqueName('e2e-gcp');
    const run = uniqueName('e2e-gcpsvc');
    try {
      const applied = await cli.run(['apply', '-f', await cli.write('fleet.dstack.yml', fleetYaml(fleet)), '-y']);
      expect(applied.exitCode, applied.stderr).toBe(0);
      expect(`${applied.stdout}${applied.stderr}`).toMatch(/Prices of \d{4}-\d{2}-\d{2} \(gcp, shipped catalog\)/);
      expect(fake.requestsTo('POST', /\/instances$/), 'nodes 0..1 creates nothing on apply').toEqual([]);

      const service = `${echoServiceYaml(run, 1)}fleets: [${fleet}]\nstop_duration: 1s\nresources:\n  cpu: 1..\n  memory: 0.25GB..\n  disk: 1GB..\n`;
      const served = await cli.run(['apply', '-f', await cli.write('svc.dstack.yml', service), '-y', '-d']);
      expect(served.exitCode, served.stderr).toBe(0);
      const view = await eventually(`${run} ready`, async () => {
        const v = (await cli.ps()).find((r) => r.name === run);
        return readyReplicas(v).length === 1 ? v : undefined;
      }, 300_000);

      const created = fake.instances();
      expect(created).toHaveLength(1);
      const vm = created[0]!;
      expect(vm.labels).toMatchObject({ dstack_project: 'main', dstack_fleet: fleet, dstack_instance: readyReplicas(view)[0]!.instance });
      expect(String(vm.machineType)).toMatch(/\/zones\/us-central1-[a-z]\/machineTypes\/e2-standard-2$/);
      const host = hosts.find((h) => h.ip === ((vm.networkInterfaces as Json[])[0] as Json).networkIP)!;
      expect(agentPids(host).length).toBeGreaterThan(0);
      expect(await runContainers(host, [run], false)).toHaveLength(1);
      expect(await answers(cli, run)).toEqual([200, 200, 200]);
      expect(await foreignAddresses(cli, hosts)).toEqual([]);
      expect((await cli.fleets()).find((f) => f.name === fleet)?.instances[0]).toMatchObject({ backend: 'gcp' });

      const stopped = await cli.run(['stop', run, '-y']);
      expect(stopped.exitCode, stopped.stderr).toBe(0);
      // idle_duration 5s: the VM goes once the replica is gone, through the API (a delete call the fake logged).
      await eventually('the VM deleted', async () => (fake.instances().length === 0 ? true : undefined), 120_000);
      expect(fake.requestsTo('DELETE', /\/instances\/[^/]+$/).filter((r) => r.status === 200)).toHaveLength(1);
      await eventually('the fleet shows it terminated', async () => {
        const f = (await cli.fleets()).find((x) => x.name === fleet);
        return f?.instances.every((i) => i.status === 'terminated') ? true : undefined;
      }, 60_000);

      // The service account's private key never shows: not in output, logs or state.
      const privateKey = (JSON.parse(readFileSync(fake.credentialsFile, 'utf8')) as { private_key: string }).private_key;
      const secret = privateKey.split('\n')[1]!;
      expect((await textsToSearch(cli)).filter((t) => t.includes(secret))).toEqual([]);
    } finally {
      await cli.run(['stop', run, '-y', '-x']);
      await cli.run(['fleet', 'delete', fleet, '-y']);
      await cli.cleanup([run]);
      for (const h of hosts) await powerOff(h, [run]);
    }
  }, 420_000);
});
