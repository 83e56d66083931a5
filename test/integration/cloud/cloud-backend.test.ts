// The cloud backend end to end against moto: AwsCompute creates the VM, the EC2 front points its address at a
// namespace test host and installs the project key there as cloud-init would, and the SSH bootstrap of SSH fleets
// brings it in (host key under the instance id, agent over SFTP, replicas through the tunnel). Needs root,
// dist/bin/dstack-agent, moto and `scripts/test-hosts.sh up 2`.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AwsCompute } from '../../../src/backends/aws/index.js';
import { CloudBackend } from '../../../src/backends/cloud/index.js';
import type { CloudTarget } from '../../../src/backends/compute.js';
import type { Offer } from '../../../src/core/api.js';
import type { OfferFilters } from '../../../src/core/catalog/types.js';
import type { ProvisionProgress } from '../../../src/core/fleets/types.js';
import { LABELS } from '../../../src/core/model/agent-constants.js';
import { ANY_REQUIREMENTS } from '../../../src/core/runs/requirements.js';
import { useAwsHarness } from '../../helpers/aws/harness.js';
import { cpuOffer, gpuOffer } from '../../helpers/aws/requests.js';
import { runInHost } from '../../helpers/ssh.js';
import { dockerOptions, holdTestHosts, TEST_IMAGES } from '../../helpers/test-hosts.js';
import { waitRunning, waitUntil } from '../ssh/helpers.js';

holdTestHosts();
const h = useAwsHarness();

const AGENT_PORT = 11_131;
const remoteDir = `.dstack/agent-test-${randomBytes(4).toString('hex')}`;
const binary = `${process.cwd()}/dist/bin/dstack-agent`;
let home: string;
let knownHosts: string;
let log: string[];
/** The catalog's offers for this test (the real catalog is engineer A's; the order is what matters here). */
let catalog: Offer[];
const backends: CloudBackend[] = [];

beforeAll(async () => {
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run \`npm run build:binary\` first`);
  home = await mkdtemp(path.join(os.tmpdir(), 'dstack-cloud-test-'));
  knownHosts = path.join(home, 'server', 'known_hosts');
});
afterEach(async () => {
  for (const b of backends.splice(0)) await b.close();
  // What a failed test left on the namespace hosts ("VMs" outlive moto's reset): this file's agents and files.
  for (const host of h.hosts) {
    await runInHost(host.name, `d="$HOME"/${remoteDir}; [ ! -x "$d/dstack-agent" ] || "$d/dstack-agent" stop --home "$d"; rm -rf "$d"`).catch(() => undefined);
  }
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

function compute(): AwsCompute {
  const byPolicy = (filters: OfferFilters) => {
    const policy = filters.spotPolicy ?? 'on-demand';
    const kept = catalog.filter((o) => policy === 'auto' || o.spot === (policy === 'spot'));
    return [...kept].sort((a, b) => Number(b.spot) - Number(a.spot));
  };
  return new AwsCompute({
    config: h.config(),
    project: 'main',
    env: h.env(),
    loadCatalog: async () => ({ provider: 'aws', date: '2026-01-01', source: 'test', items: [] }),
    catalogOffers: (_catalogs, filters) => byPolicy(filters),
  });
}

function backend(): CloudBackend {
  log = [];
  const b = new CloudBackend({ compute: compute(), knownHostsPath: knownHosts, remoteDir, agentPort: AGENT_PORT, log: (l) => log.push(l) });
  backends.push(b);
  return b;
}

const target = (instance: string, extra: Partial<CloudTarget> = {}): CloudTarget => ({
  instance,
  fleet: 'cloud',
  project: 'main',
  filters: { requirements: ANY_REQUIREMENTS, spotPolicy: 'auto' },
  diskGiB: 50,
  ...extra,
});

const knownLines = async () => (existsSync(knownHosts) ? (await readFile(knownHosts, 'utf8')).split('\n').filter(Boolean) : []);
const agentDir = async (hostName: string) => (await runInHost(hostName, `test -e "$HOME"/${remoteDir} && echo present || echo gone`)).stdout.trim();

describe('CloudBackend on moto and a namespace host', () => {
  it('creates the VM, bootstraps the host its address points at, reconnects after a restart, runs a replica, and terminates exactly it', async () => {
    catalog = [cpuOffer()];
    const b = backend();
    const steps: ProvisionProgress[] = [];
    const result = await b.provision(target('cloud-0'), (p) => steps.push(p));
    const cloud = result.cloud;
    const host = h.front.hostOf(cloud?.instanceId ?? '');
    if (!cloud || !host) throw new Error('no instance, or no namespace host behind it');
    expect(cloud).toMatchObject({ hostname: host.ip, user: 'root', sshPort: 22, instanceType: 'm5.large', region: 'us-east-1', spot: false });
    expect([...new Set(steps.map((s) => s.step))]).toEqual(['create', 'address', 'connect', 'host-key', 'prerequisites', 'upload-agent', 'start-agent', 'host-info']);
    expect(steps[0]?.cloud?.instanceId).toBe(cloud.instanceId);
    expect(steps.find((s) => s.step === 'address')?.cloud?.hostname).toBe(host.ip);
    expect(result.host.runtime).toBe('docker');
    // The key is stored under the instance id, never under the address the next VM will get.
    expect(await knownLines()).toEqual([`${cloud.instanceId} ${host.hostKey}`]);

    // A restarted daemon: a new backend, the record as stored, no provisioning.
    const restarted = backend();
    restarted.setTargets([target('cloud-0', { cloud })]);
    expect(restarted.instances()).toEqual(['cloud-0']);
    const conn = await restarted.ensureAgent('cloud-0');
    expect((await conn.client.health()).version).toBe(result.agentVersion);
    expect(log.some((l) => l.includes('provisioning'))).toBe(false);
    const spec = { id: 'cloud-web-0-0', runName: 'cloud-web', replicaNum: 0, image: TEST_IMAGES.node, commands: ['node /srv/http-echo.mjs 8080'], port: 8080 };
    await conn.client.createReplica(spec);
    const running = await waitRunning(conn.client, spec.id);
    expect(running.phase).toBe('running');
    const { origin, dispatcher } = conn.replicaOrigin(running.hostPort as number);
    const res = await waitUntil('the replica answers', async () => {
      const r = await dispatcher!.request({ origin, path: '/on-a-vm', method: 'GET' });
      return r.statusCode === 200 ? r : void (await r.body.dump());
    });
    expect(JSON.parse(await res.body.text())).toMatchObject({ path: '/on-a-vm' });

    // Another instance of the project that teardown must leave alone.
    const bystander = await compute().createInstance({ project: 'main', fleet: 'other', instanceName: 'other-0', offer: cpuOffer(), diskGiB: 20, sshPublicKey: (await readFile(path.join(home, 'server', 'ssh', 'projects', 'main', 'id_ed25519.pub'), 'utf8')).trim() });
    await restarted.teardown(target('cloud-0', { cloud }));
    expect(h.front.callsTo('TerminateInstances').map((c) => c.params['InstanceId.1'])).toEqual([cloud.instanceId]);
    const states = Object.fromEntries((await compute().listTagged('main')).map((t) => [t.instanceId, t.state]));
    expect(states).toEqual({ [cloud.instanceId]: 'terminated', [bystander.instanceId]: 'running' });
    expect(await knownLines()).toEqual([]);
    expect(existsSync(path.join(home, 'server', 'ssh', 'aws', 'cloud-0.token'))).toBe(false);
    expect(restarted.instances()).toEqual([]);
    // The VM answered, so its replicas were stopped first (the namespace host outlives the "VM").
    const left = await new Docker(dockerOptions(host.dockerHost)).listContainers({ all: true, filters: { label: [`${LABELS.replicaId}=${spec.id}`] } });
    expect(left).toEqual([]);
    expect(await agentDir(host.name)).toBe('gone');
  });

  it('a new instance at a reused address is not refused for the key a former VM left under that address', async () => {
    catalog = [cpuOffer()];
    const b = backend();
    const first = (await b.provision(target('cloud-0'), () => {})).cloud;
    if (!first?.hostname) throw new Error('no first instance');
    await b.teardown(target('cloud-0', { cloud: first }));
    // What a host-keyed known_hosts would hold after the former VM: another key for this very address.
    await writeFile(knownHosts, `${first.hostname} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZvcm1lci12bS1rZXktMDAwMDAwMDAwMDAwMDAwMDA=\n`);

    const second = (await b.provision(target('cloud-1'), () => {})).cloud;
    if (!second) throw new Error('no second instance');
    expect(second.hostname).toBe(first.hostname);
    expect(second.instanceId).not.toBe(first.instanceId);
    const host = h.front.hostOf(second.instanceId);
    expect((await knownLines()).slice(1)).toEqual([`${second.instanceId} ${host?.hostKey}`]);
    await b.teardown(target('cloud-1', { cloud: second }));
    expect(await knownLines()).toEqual([`${first.hostname} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZvcm1lci12bS1rZXktMDAwMDAwMDAwMDAwMDAwMDA=`]);
  });

  it('skips an offer EC2 has no capacity for, showing why, and creates the next one', async () => {
    catalog = [gpuOffer({ spot: true, price: 0.45 }), cpuOffer()];
    h.front.fail({ action: 'RunInstances', instanceType: 'g5.xlarge', code: 'InsufficientInstanceCapacity' });
    const b = backend();
    const steps: ProvisionProgress[] = [];
    const controller = new AbortController();
    // Stop once the VM exists: the bootstrap after it is the first test's.
    const error = await b
      .provision(target('cloud-0'), (p) => {
        steps.push(p);
        if (p.step === 'create') controller.abort(new Error('enough'));
      }, controller.signal)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ message: 'enough' });
    expect(steps.filter((s) => s.step === 'offer').map((s) => s.message)).toEqual(['aws us-east-1 g5.xlarge (spot): no capacity (InsufficientInstanceCapacity)']);
    const created = steps.find((s) => s.step === 'create')?.cloud;
    expect(created).toMatchObject({ instanceType: 'm5.large', spot: false });
    const runs = h.front.callsTo('RunInstances');
    expect(runs.filter((c) => c.status === 200).map((c) => c.params.InstanceType)).toEqual(['m5.large']);
    expect(runs.filter((c) => c.injected === 'InsufficientInstanceCapacity').every((c) => c.params.InstanceType === 'g5.xlarge')).toBe(true);

    // Aborted, the VM is the caller's to take out: teardown terminates it (its sshd was never reached).
    await b.teardown(target('cloud-0', { cloud: created }));
    expect((await compute().listTagged('main')).map((t) => t.state)).toEqual(['terminated']);
  });
});
