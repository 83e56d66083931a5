// SSH fleets as the daemon's capacity (issue 5), against the three namespace test hosts (real sshd, dockerd,
// agent binary): a fleet where one host has a wrong key (reported, the others join) and a re-apply that fixes it;
// a `replicas: 3` service spread over the three hosts and answering through the proxy; one host's link cut →
// its replica replaced elsewhere and, with the link back, no duplicate left; deleting the fleet refused while the
// run lives, then leaving the hosts clean. Needs root and `scripts/test-hosts.sh up 3`; always restores the link.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetView, RunView } from '../../../src/core/api.js';
import { holdTestHosts, loadTestHosts, type TestHost } from '../../helpers/test-hosts.js';
import { buildAgent, isReady, removeDir, tempDir, waitFor } from '../daemon/harness.js';
import { agentProcesses, hostContainers, link, startFleetDaemon, strangerKey, type FleetDaemon } from './helpers.js';

const FLEET = 'fleet-it';
const RUN = 'fleet-svc';
let hosts: TestHost[];
let dir: string;
let t: FleetDaemon;
let wrongKey: string;

const fleetConfig = (keys: string[]) => ({
  type: 'fleet',
  name: FLEET,
  // Two blocks per host: a host keeps room for a replacement beside its own replica.
  ssh_config: { user: 'root', hosts: hosts.map((h, i) => ({ hostname: h.ip, identity_file: keys[i] })) },
  blocks: 2,
});
const service = {
  type: 'service',
  name: RUN,
  image: 'dstack-test/node:latest',
  commands: ['node /srv/http-echo.mjs'],
  env: { PORT: '8000' },
  port: 8000,
  replicas: 3,
  stop_duration: 1,
  resources: { cpu: '1..', memory: '0.25GB..', disk: '1GB..' },
};

const instanceOf = (host: TestHost, fleet: FleetView) => fleet.instances.find((i) => i.host === `root@${host.ip}:22`);
const settled = (f: FleetView) => f.instances.every((i) => i.status === 'idle' || i.status === 'busy' || i.status === 'terminated');
const liveOn = (run: RunView) => run.replicas.filter((r) => r.status === 'running' && r.ready).map((r) => r.instance);

// Cutting a host's link would break other files' tests on that host: hold the hosts for this file.
holdTestHosts();

beforeAll(async () => {
  hosts = loadTestHosts(3).hosts.slice(0, 3);
  dir = await tempDir('dstack-fleet-test-');
  wrongKey = await strangerKey(dir);
  t = await startFleetDaemon(await buildAgent(dir), 11_151, 3_000);
}, 120_000);

afterAll(async () => {
  for (const h of hosts ?? []) link(h, 'up');
  if (t) {
    await t.api.stop(RUN, true).catch(() => undefined);
    await t.api.fleetCall('DELETE', `/api/fleets/${FLEET}?force=1`).catch(() => undefined);
    await waitFor('fleet cleanup', async () => (await t.api.fleet(FLEET)).status === 'terminated', 60_000).catch(() => undefined);
    await t.close();
  }
  if (dir) await removeDir(dir);
}, 120_000);

describe('SSH fleets in the daemon', () => {
  it('reports a host with a wrong key as failed (SSH_AUTH_FAILED) while the others join; a re-apply adds it', async () => {
    const key = hosts[0]!.identityFile;
    const first = await t.api.applyFleet(fleetConfig([key, key, wrongKey]));
    expect(first.instances.map((i) => i.status)).toEqual(['provisioning', 'provisioning', 'provisioning']);
    const fleet = await waitFor('hosts settled', async () => {
      const f = await t.api.fleet(FLEET);
      return settled(f) ? f : undefined;
    }, 120_000);
    expect(fleet.status).toBe('active');
    expect(instanceOf(hosts[2]!, fleet)).toMatchObject({ status: 'terminated', error: expect.stringContaining('SSH_AUTH_FAILED') });
    for (const h of hosts.slice(0, 2)) expect(instanceOf(h, fleet)).toMatchObject({ status: 'idle', unreachable: false, blocks: 2, busyBlocks: 0 });

    const plan = await t.api.planFleet(fleetConfig([key, key, key]));
    expect(plan.action).toBe('update');
    expect(plan.hosts.filter((h) => h.action === 'add').map((h) => h.host)).toEqual([`root@${hosts[2]!.ip}:22`]);
    await t.api.applyFleet(fleetConfig([key, key, key]));
    const full = await waitFor('third host joined', async () => {
      const f = await t.api.fleet(FLEET);
      return f.instances.length === 3 && f.instances.every((i) => i.status === 'idle') ? f : undefined;
    }, 120_000);
    expect(full.instances.every((i) => i.resources !== undefined && i.error === undefined)).toBe(true);
  }, 300_000);

  it('spreads replicas: 3 over the three hosts, all answering through the proxy, also after a daemon restart', async () => {
    // The plan shows the offers placement can use: the fleet's hosts, or only this machine with `backends: [local]`.
    const plan = await t.api.plan(service);
    expect(plan.offers.map((o) => o.instance).sort()).toEqual([`${FLEET}-0`, `${FLEET}-1`, `${FLEET}-2`]);
    expect(plan.offers.every((o) => o.backend === 'ssh' && o.fleet === FLEET)).toBe(true);
    const localPlan = await t.api.plan({ ...service, backends: ['local'] });
    expect(localPlan.offers.map((o) => o.backend)).toEqual(['local']);
    await expect(t.api.plan({ ...service, fleets: ['no-such-fleet'] })).resolves.toMatchObject({ offers: [] });
    // GPUs are for fleet hosts: accepted (not "not supported"), and refused here only because no test host has one.
    const gpu = { ...service, name: 'gpu-svc', resources: { ...service.resources, gpu: '24GB:1' } };
    const gpuPlan = await t.api.plan(gpu);
    expect(gpuPlan.offers.length).toBe(3);
    expect(gpuPlan.offers.every((o) => o.availability === 'not available')).toBe(true);
    const refused = await t.api.call<{ code: string; hint: string }>('POST', '/api/runs/apply', { config: gpu });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: 'NO_OFFERS', hint: expect.stringContaining('No host of your fleets') });
    await t.api.apply(service);
    let last: RunView | undefined;
    const run = await waitFor('3 ready replicas', async () => {
      last = await t.api.run(RUN);
      return isReady(last, 3) ? last : undefined;
    }, 180_000).catch((e: Error) => {
      throw new Error(`${e.message}; last view: ${JSON.stringify(last?.replicas)}`);
    });
    const fleet = await t.api.fleet(FLEET);
    expect(new Set(liveOn(run))).toEqual(new Set(fleet.instances.map((i) => i.name)));
    for (const h of hosts) expect(await hostContainers(h, RUN)).toHaveLength(1);
    expect(fleet.instances.every((i) => i.status === 'busy' && i.busyBlocks === 1)).toBe(true);
    // Each replica holds one of its host's two blocks: half the CPUs (`dstack ps -v` RESOURCES).
    const live = run.replicas.filter((r) => r.status === 'running');
    expect(live.map((r) => r.resources?.cpus)).toEqual(live.map((r) => Math.floor(fleet.instances.find((i) => i.name === r.instance)!.resources!.cpus / 2)));

    await t.restart();
    const after = await t.api.run(RUN);
    expect(liveOn(after).sort()).toEqual(liveOn(run).sort());
    for (let i = 0; i < 9; i++) expect((await t.api.service('main', RUN, '/')).status).toBe(200);
  }, 300_000);

  it('places a replica group by its own resources: a group no host fits waits with the reason, the other runs', async () => {
    const GROUPED = 'fleet-groups';
    const group = (name: string, extra: Record<string, unknown> = {}) => ({ name, replicas: 1, commands: ['node /srv/http-echo.mjs'], ...extra });
    try {
      const { commands: _c, replicas: _r, ...base } = service;
      await t.api.apply({ ...base, name: GROUPED, groups: [group('small'), group('huge', { resources: { memory: '4096GB..' } })] });
      let last: RunView | undefined;
      const waiting = await waitFor('small ready, huge waiting with a reason', async () => {
        const v = (last = await t.api.run(GROUPED));
        const huge = v.replicas.find((r) => r.group === 'huge');
        return v.replicas.some((r) => r.group === 'small' && r.ready) && huge?.statusMessage ? v : undefined;
      }, 120_000).catch((e: Error) => {
        throw new Error(`${e.message}; last view: ${JSON.stringify(last?.replicas)}`);
      });
      const huge = waiting.replicas.find((r) => r.group === 'huge')!;
      expect(huge.status).toBe('submitted');
      expect(huge.instance).toBeUndefined();
      expect(huge.statusMessage).toMatch(/memory/i);
    } finally {
      await t.api.stop(GROUPED, true).catch(() => undefined);
      await waitFor('grouped run terminated', async () => (await t.api.run(GROUPED).catch(() => undefined))?.status !== 'running', 120_000);
    }
  }, 300_000);

  it('replaces the replica of a host that lost its link, and leaves no duplicate once the link is back', async () => {
    const lost = hosts[1]!;
    const lostInstance = instanceOf(lost, await t.api.fleet(FLEET))!.name;
    const errors: number[] = [];
    let sent = 0;
    let stop = false;
    const load = (async () => {
      while (!stop) {
        sent++;
        const ok = await request(`${t.daemon.url}/proxy/services/main/${RUN}/`, { headers: { authorization: `Bearer ${t.api.token}` }, headersTimeout: 2_000, bodyTimeout: 2_000 })
          .then(async (r) => (await r.body.text(), r.statusCode === 200))
          .catch(() => false);
        if (!ok) errors.push(Date.now());
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const cutAt = Date.now();
    try {
      link(lost, 'down');
      await waitFor('host marked unreachable', async () => instanceOf(lost, await t.api.fleet(FLEET))?.unreachable === true, 60_000);
      const replaced = await waitFor('replica replaced on another host', async () => {
        const v = await t.api.run(RUN);
        const live = liveOn(v);
        return live.length === 3 && !live.includes(lostInstance) ? v : undefined;
      }, 120_000);
      // The lost replica's number came back as a new submission on a reachable host.
      expect(replaced.replicas.filter((r) => r.submission > 0).map((r) => r.instance)).toHaveLength(1);
      // Once the replacement serves, the proxy answers again: the next requests all succeed.
      const before = errors.length;
      const sentBefore = sent;
      await waitFor('20 more requests', async () => sent - sentBefore >= 20, 60_000);
      expect(errors.length).toBe(before);
      const window = errors.length > 0 ? `${((errors[errors.length - 1]! - errors[0]!) / 1000).toFixed(1)}s` : 'none';
      console.log(`host loss: ${errors.length}/${sent} requests failed; error window ${window} (from ${((errors[0] ?? cutAt) - cutAt) / 1000}s after the cut)`);
    } finally {
      link(lost, 'up');
      stop = true;
      await load;
    }
    await waitFor('host reachable again', async () => instanceOf(lost, await t.api.fleet(FLEET))?.unreachable === false, 120_000);
    // The old replica's container on the returned host is stopped: exactly 3 run in all.
    await waitFor('no duplicate containers', async () => (await hostContainers(lost, RUN)).length === 0, 120_000);
    const counts = await Promise.all(hosts.map((h) => hostContainers(h, RUN).then((c) => c.length)));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(3);
  }, 300_000);

  it('refuses to delete the fleet while the run has replicas there, then leaves every host clean', async () => {
    const refused = await t.api.fleetCall<{ code: string; message: string }>('DELETE', `/api/fleets/${FLEET}`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'FLEET_IN_USE', message: expect.stringContaining(`\`${RUN}\``) });

    await t.api.stop(RUN);
    await waitFor('run terminated', async () => (await t.api.run(RUN)).status === 'terminated', 120_000);
    const deleting = await t.api.fleetCall<FleetView>('DELETE', `/api/fleets/${FLEET}`);
    expect(deleting.status).toBe(200);
    expect(deleting.body.status).toBe('terminating');
    await waitFor('fleet terminated', async () => (await t.api.fleet(FLEET)).status === 'terminated', 120_000);
    for (const h of hosts) expect(await hostContainers(h, RUN, true)).toEqual([]);
    // `dstack-agent stop` may still be finishing on a host when the fleet turns terminated.
    await waitFor('no agent process left', async () => agentProcesses(t.remoteDir).length === 0, 30_000).catch(() => undefined);
    expect(agentProcesses(t.remoteDir)).toEqual([]);
  }, 300_000);
});
