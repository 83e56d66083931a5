/**
 * Issue 16's fallback end to end with the built CLI and the daemon it starts, against moto behind the test's EC2 front
 * (instance addresses are network-namespace test hosts): a cloud fleet with `spot_policy: auto` and a service with
 * `fallback: {on_demand_base: 1, dynamic: true}`. Replica 0 runs on demand, replica 1 on spot; the spot instance is
 * interrupted while spot capacity is gone (RunInstances for spot fails), an on-demand cover takes its place with the
 * service answering throughout, and once spot capacity is back the spot replica returns and the cover is drained,
 * stopped and its instance terminated by idle_duration. `replicas: 3`: at its peak the scenario holds the three
 * replicas, the cover and the spot replacement minus the lost one, one instance (so one namespace host) each.
 * Needs root, `scripts/test-hosts.sh up 4`, moto and `npm run build`.
 */
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReplicaView, RunView } from '../../src/core/api.js';
import { useAwsHarness } from '../helpers/aws/harness.js';
import { holdTestHosts } from '../helpers/test-hosts.js';
import { echoServiceYaml, eventually, uniqueName } from './cli-harness.js';
import { agentPids, motoInstances, newCloudCli, powerOff, runContainers, type CloudCli } from './cloud-harness.js';

holdTestHosts();
const aws = useAwsHarness({ minHosts: 4 });

const fleetYaml = (name: string) => `type: fleet
name: ${name}
nodes: 0..4
resources:
  cpu: 2..
  memory: 4GB..
  disk: 20GB..
  gpu: 0
spot_policy: auto
idle_duration: 15s
`;
const serviceYaml = (run: string, fleet: string) => `${echoServiceYaml(run, 3)}fleets: [${fleet}]
stop_duration: 1s
resources:
  cpu: 1..
  memory: 0.25GB..
  disk: 1GB..
spot_policy: auto
fallback:
  on_demand_base: 1
  dynamic: true
`;

const serving = (v: RunView | undefined): ReplicaView[] => v?.replicas.filter((r) => r.status === 'running' && r.ready) ?? [];
const servingNum = (v: RunView | undefined, num: number) => serving(v).find((r) => r.num === num);

let current: { cli: CloudCli; fleet: string; run: string } | undefined;

afterEach(async () => {
  if (!current) return;
  const { cli, fleet, run } = current;
  current = undefined;
  const problems: string[] = [];
  try {
    await cli.run(['stop', run, '-y', '-x']);
    const deleted = await cli.run(['fleet', 'delete', fleet, '-y']);
    if (deleted.exitCode !== 0) problems.push(`dstack fleet delete exited ${deleted.exitCode}: ${deleted.stderr}`);
    const left = await eventually('every moto instance terminated', async () => {
      const running = (await motoInstances(aws)).filter((i) => i.state !== 'terminated');
      return running.length === 0 ? [] : undefined;
    }, 120_000).catch(async () => (await motoInstances(aws)).filter((i) => i.state !== 'terminated'));
    if (left.length > 0) problems.push(`instances left in moto: ${left.map((i) => `${i.id} (${i.state})`).join(', ')}`);
  } finally {
    await cli.cleanup([run]);
    for (const h of aws.hosts) await powerOff(h, [run]);
  }
  for (const h of aws.hosts) {
    if (agentPids(h).length > 0) problems.push(`${h.name} still runs a dstack-agent`);
    if ((await runContainers(h, [run])).length > 0) problems.push(`${h.name} still has containers of ${run}`);
  }
  expect(problems).toEqual([]);
}, 300_000);

/** GETs the service one after another until stopped; each result with the time it was answered. */
function loadLoop(port: number, run: string) {
  const results: Array<{ at: number; ok: boolean; detail: string }> = [];
  let running = true;
  const done = (async () => {
    while (running) {
      try {
        const res = await request(`http://127.0.0.1:${port}/proxy/services/main/${run}/`, { headersTimeout: 30_000, bodyTimeout: 30_000 });
        await res.body.dump();
        results.push({ at: Date.now(), ok: res.statusCode === 200, detail: String(res.statusCode) });
      } catch (e) {
        results.push({ at: Date.now(), ok: false, detail: (e as Error).message });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return { results, stop: async () => ((running = false), await done) };
}

describe('spot replicas with an on-demand fallback (moto), with the built CLI', () => {
  it('covers an interrupted spot replica with an on-demand one while spot capacity is gone, then drains the cover once spot is back', async () => {
    const cli = await newCloudCli([aws.config()], aws.env());
    const fleet = uniqueName('e2e-fb');
    const run = uniqueName('e2e-fbsvc');
    current = { cli, fleet, run };
    const fleetApplied = await cli.run(['apply', '-f', await cli.write('fleet.dstack.yml', fleetYaml(fleet)), '-y']);
    expect(fleetApplied.exitCode, fleetApplied.stderr).toBe(0);
    const applied = await cli.run(['apply', '-f', await cli.write(`${run}.dstack.yml`, serviceYaml(run, fleet)), '-y', '-d']);
    expect(applied.exitCode, applied.stderr).toBe(0);

    const ps = async () => (await cli.ps()).find((r) => r.name === run);
    const first = await eventually('all three replicas ready', async () => {
      const v = await ps();
      return servingNum(v, 0) && servingNum(v, 1) && servingNum(v, 2) ? v : undefined;
    }, 300_000);
    // on_demand_base 1: replica 0 on demand, replicas 1 and 2 on spot.
    expect([0, 1, 2].map((n) => servingNum(first, n)?.cloud?.spot)).toEqual([false, true, true]);
    const spotName = servingNum(first, 1)!.instance!;
    const spotVm = (await motoInstances(aws)).find((i) => i.state !== 'terminated' && i.tags.dstack_instance === spotName)!;
    const spotHost = aws.front.hostOf(spotVm.id)!;

    const load = loadLoop(cli.port, run);
    try {
      // Spot capacity goes away: the interruption, and every spot RunInstances from now on.
      aws.front.fail({ action: 'RunInstances', spot: true, code: 'InsufficientInstanceCapacity' });
      await aws.front.interruptSpot(spotVm.id);
      await powerOff(spotHost, [run], spotVm.id);

      const covered = await eventually('an on-demand cover ready', async () => {
        const v = await ps();
        const cover = serving(v).find((r) => r.num >= 3);
        return cover ? { v, cover } : undefined;
      }, 300_000);
      const coverReadyAt = Date.now();
      expect(covered.cover.cloud?.spot).toBe(false);
      expect(servingNum(covered.v, 1)).toBeUndefined();
      // The spot replacement waits for spot capacity meanwhile: a spot RunInstances was refused.
      await eventually('a refused spot RunInstances', async () => (aws.front.callsTo('RunInstances').some((c) => c.params['InstanceMarketOptions.MarketType'] === 'spot' && c.status !== 200) ? true : undefined), 120_000);

      aws.front.clearFaults();
      const back = await eventually('spot replica 1 ready again and the cover drained', async () => {
        const v = await ps();
        const again = servingNum(v, 1);
        const coverLive = v?.replicas.some((r) => r.num >= 3 && !['terminated', 'aborted', 'failed', 'done'].includes(r.status));
        return again?.cloud?.spot === true && !coverLive ? v : undefined;
      }, 600_000);
      const cover = back.replicas.filter((r) => r.num === covered.cover.num).sort((a, b) => b.submission - a.submission)[0];
      expect(cover?.status).toBe('terminated');
      expect(cover?.reason).toBe('fallback_cover_drained');
      await eventually('the cover instance terminated once idle', async () => {
        const vm = (await motoInstances(aws)).find((i) => i.tags.dstack_instance === covered.cover.instance);
        return vm?.state === 'terminated' ? true : undefined;
      }, 180_000);

      const { results } = load;
      await load.stop();
      const failedAfterCover = results.filter((r) => r.at >= coverReadyAt && !r.ok);
      const failed = results.filter((r) => !r.ok).map((r) => r.detail);
      console.log(`requests: ${results.length}, failed: ${failed.length} (${failed.join('; ')}), failed after the cover was ready: ${failedAfterCover.length}`);
      expect(results.length).toBeGreaterThan(0);
      expect(failedAfterCover.map((r) => r.detail)).toEqual([]);
    } finally {
      await load.stop();
    }
  }, 1_200_000);
});
