/**
 * Cloud fleets (issue 13) through the commands as oclif runs them, against the fleet control API on port 0
 * (fleet-fixtures.ts): `dstack apply` of a `nodes:` fleet (plan with offers, `0..N` ending at once, failures named
 * per instance) and `dstack fleet` listing SSH and cloud fleets together.
 */
import { Config, type Command } from '@oclif/core';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FleetView, InstanceView, Offer } from '../../../src/core/api.js';
import Apply from '../../../src/commands/apply.js';
import Fleet from '../../../src/commands/fleet.js';
import { fleetPlan, fleetView, instance, startFleetDaemon, type FleetDaemon } from './fleet-fixtures.js';
import { runCommand } from './run-command.js';

let config: Config;
let daemon: FleetDaemon | undefined;
let dir: string;
beforeAll(async () => {
  config = await Config.load({ root: process.cwd(), pjson: { name: 'dstack', version: '0.0.0', oclif: { bin: 'dstack' } } });
  dir = await mkdtemp(join(tmpdir(), 'dstack-cloud-fleet-'));
});
afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
});

const runCmd = (Cmd: Command.Class, argv: string[], env: NodeJS.ProcessEnv) => runCommand(config, Cmd, argv, { env, columns: 200 });
const envOf = (d: FleetDaemon) => ({ DSTACK_HOME: d.home, NO_COLOR: '1', HOME: dir });

async function writeFleet(nodes: string): Promise<string> {
  const file = join(dir, `gpu-${Math.random().toString(36).slice(2, 8)}.dstack.yml`);
  await writeFile(file, `type: fleet\nname: gpu\nnodes: ${nodes}\nresources:\n  gpu: A10G:1\nspot_policy: auto\n`);
  return file;
}

const GiB = 1024 ** 3;
const offer = (price: number): Offer => ({
  backend: 'aws',
  region: 'us-east-1',
  instanceType: 'g5.xlarge',
  resources: { cpus: 4, memoryBytes: 16 * GiB, diskBytes: 100 * GiB, gpus: [{ name: 'A10G', memoryMiB: 24576, vendor: 'nvidia' }] },
  spot: true,
  price,
  availability: 'available',
});
const vm = (over: Partial<InstanceView> = {}): InstanceView =>
  instance({ name: 'gpu-0', fleet: 'gpu', host: 'gpu-0', backend: 'aws', resources: undefined, createdAt: Date.now() - 60_000, ...over });
const gpu = (over: Partial<FleetView> = {}): FleetView => fleetView({ name: 'gpu', nodes: { min: 0, target: 0, max: 1 }, instances: [], createdAt: Date.now() - 60_000, ...over });

describe('dstack apply -f <cloud fleet>', () => {
  it('shows the cloud plan with its offers; a `0..1` fleet ends at once, saying instances come with runs', async () => {
    const plan = fleetPlan({ fleetName: 'gpu', hosts: [], nodes: { min: 0, target: 0, max: 1 }, offers: [offer(0.4), offer(0.5)], offersTotal: 2 });
    daemon = await startFleetDaemon({ plan, applied: gpu(), fleets: [gpu()] });
    const r = await runCmd(Apply, ['-f', await writeFleet('0..1'), '-y'], envOf(daemon));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ Type\s+fleet\n Fleet type\s+cloud\n Nodes\s+0\.\.1\n Placement\s+any\n Resources\s+cpu=2\.\. mem=8GB\.\. disk=100GB\.\. gpu=A10G:1\n/);
    expect(r.stdout).toMatch(/ Spot policy\s+auto\n/);
    expect(r.stdout).toMatch(/#\s+BACKEND\s+RESOURCES\s+INSTANCE TYPE\s+PRICE\n1\s+aws \(us-east-1\)\s+cpu=4 .*\(spot\)\s+g5\.xlarge\s+\$0\.4\s+available\n2\s/);
    expect(r.stdout).toMatch(/NAME\s+NODES\s+GPU\s+SPOT\s+BACKEND\s+PRICE\s+STATUS\s+CREATED\ngpu\s+0\.\.1\s+active\s+1 min ago\n/);
    expect(r.stderr).toContain('Fleet gpu is ready: its instances are created when runs need them (up to 1)');
    // Nothing to wait for: the events stream is never opened.
    expect(daemon.state.requests.some((q) => q.url.endsWith('/events'))).toBe(false);
  });

  it('follows a fleet that creates instances, and exits 1 naming each instance that could not be created', async () => {
    const plan = fleetPlan({ fleetName: 'gpu', hosts: [], nodes: { min: 1, target: 1, max: 1 }, offers: [], offersTotal: 0 });
    const submitted = gpu({ status: 'submitted', nodes: { min: 1, target: 1, max: 1 }, instances: [vm({ status: 'pending' })] });
    const trying = gpu({ ...submitted, instances: [vm({ status: 'provisioning', progress: 'trying g5.xlarge in us-east-1a: no capacity' })] });
    const failed = gpu({ ...submitted, status: 'failed', instances: [vm({ status: 'terminated', terminationReason: 'provisioning_failed', error: 'no offer had capacity' })] });
    daemon = await startFleetDaemon({ plan, applied: submitted, fleets: [submitted], events: [trying, failed] });
    const r = await runCmd(Apply, ['-f', await writeFleet('1'), '-y'], envOf(daemon));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("No offers match this fleet's resources/backends/regions.");
    expect(r.stderr).toContain('gpu-0: provisioning (trying g5.xlarge in us-east-1a: no capacity)\n');
    expect(r.stderr).toContain('Instance gpu-0 failed: no offer had capacity');
    expect(r.stderr).toContain('Error: No instance of fleet gpu joined');
  });
});

describe('dstack fleet with cloud fleets', () => {
  it('lists SSH and cloud fleets in one table, -v with resources and errors', async () => {
    const vmJoined = vm({
      host: 'ubuntu@10.77.0.21:22',
      status: 'idle',
      resources: offer(0).resources,
      cloud: { instanceId: 'i-0abc', instanceType: 'g5.xlarge', region: 'us-east-1', spot: true, price: 0.453 },
    });
    const ssh = fleetView({ createdAt: Date.now() - 60_000, instances: [instance({ createdAt: Date.now() - 60_000 })] });
    daemon = await startFleetDaemon({ fleets: [ssh, gpu({ instances: [vmJoined, vm({ name: 'gpu-1', status: 'terminated', terminationReason: 'interrupted' })] })] });
    const r = await runCmd(Fleet, [], envOf(daemon));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      expect.stringMatching(/^NAME\s+NODES\s+GPU\s+SPOT\s+BACKEND\s+PRICE\s+STATUS\s+CREATED$/),
      expect.stringMatching(/^my-fleet\s+1\s+active\s+1 min ago$/),
      expect.stringMatching(/^ {2}my-fleet-0\s+gpu=A100:80GB:2\s+-\s+ssh \(remote\)\s+\$0\s+idle\s+1 min ago$/),
      expect.stringMatching(/^gpu\s+0\.\.1\s+active\s+1 min ago$/),
      expect.stringMatching(/^ {2}gpu-0\s+gpu=A10G:24GB:1\s+spot\s+aws \(us-east-1\)\s+\$0\.453\s+idle\s+1 min ago$/),
      expect.stringMatching(/^ {2}gpu-1\s+-\s+-\s+aws\s+-\s+terminated \(interrupted\)\s+1 min ago$/),
      '',
    ]);
    const verbose = await runCmd(Fleet, ['-v'], envOf(daemon));
    expect(verbose.stdout).toMatch(/^NAME\s+NODES\s+RESOURCES\s+SPOT\s+BACKEND\s+PRICE\s+STATUS\s+CREATED\s+ERROR\n/);
    expect(verbose.stdout).toMatch(/gpu-1\s+.*terminated \(interrupted\)\s+1 min ago\s+interrupted\n/);
  });
});
