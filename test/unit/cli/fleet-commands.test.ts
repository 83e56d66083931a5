/**
 * `dstack apply -f fleet.dstack.yml`, `dstack fleet` (list, delete) and `dstack offer` with fleet hosts, as oclif
 * runs them with fake stdout/stderr, against the fleet control API served on port 0 (fleet-fixtures.ts).
 */
import { Config, type Command } from '@oclif/core';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import Apply from '../../../src/commands/apply.js';
import FleetDelete from '../../../src/commands/fleet-delete.js';
import FleetList from '../../../src/commands/fleet-list.js';
import Fleet from '../../../src/commands/fleet.js';
import Offer from '../../../src/commands/offer.js';
import { COMMANDS } from '../../../src/commands/index.js';
import { fleetPlan, fleetView, instance, sshOffer, startFleetDaemon, type FleetDaemon } from './fleet-fixtures.js';
import { runCommand } from './run-command.js';

let config: Config;
let daemon: FleetDaemon | undefined;
let dir: string;
beforeAll(async () => {
  config = await Config.load({ root: process.cwd(), pjson: { name: 'dstack', version: '0.0.0', oclif: { bin: 'dstack' } } });
  dir = await mkdtemp(join(tmpdir(), 'dstack-fleet-cfg-'));
  await mkdir(join(dir, '.ssh'));
  await writeFile(join(dir, '.ssh/id_test'), 'not really a key', { mode: 0o600 });
});
afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
});

// Wide enough that no table is truncated: a pipe has no width at all.
const runCmd = (Cmd: Command.Class, argv: string[], env: NodeJS.ProcessEnv) => runCommand(config, Cmd, argv, { env, columns: 200 });

const envOf = (d: FleetDaemon) => ({ DSTACK_HOME: d.home, NO_COLOR: '1', HOME: dir, FLEET_PROXY: 'http://proxy:3128' });

const fleetYaml = `type: fleet
name: my-fleet
env:
  - HTTP_PROXY=http://proxy:3128
  - FLEET_PROXY
  - NO_PROXY
ssh_config:
  user: root
  identity_file: ~/.ssh/id_test
  hosts:
    - 10.77.0.11
    - hostname: 10.77.0.12
      identity_file: ${'${DIR}'}/.ssh/id_test
    - hostname: 10.77.0.13
      identity_file: .ssh/id_test
`;

async function writeFleet(yaml = fleetYaml): Promise<string> {
  const file = join(dir, `fleet-${Math.random().toString(36).slice(2, 8)}.dstack.yml`);
  await writeFile(file, yaml.replace('${DIR}', dir));
  return file;
}

const pending = fleetView({ status: 'submitted', instances: [instance({ status: 'pending', resources: undefined }), instance({ name: 'my-fleet-1', host: 'root@10.77.0.12:22', status: 'pending', resources: undefined })] });

describe('dstack fleet', () => {
  it('is registered as fleet, fleet:list and fleet:delete', () => {
    expect(COMMANDS.fleet).toBe(Fleet);
    expect(COMMANDS['fleet:list']).toBe(FleetList);
    expect(COMMANDS['fleet:delete']).toBe(FleetDelete);
  });

  it('prints the fleets table, and {fleets} with --json', async () => {
    daemon = await startFleetDaemon({ fleets: [fleetView({ instances: [instance({ createdAt: Date.now() - 3 * 60_000 })] })] });
    const table = await runCmd(Fleet, [], envOf(daemon));
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^FLEET\s+INSTANCE\s+BACKEND\s+RESOURCES\s+PRICE\s+STATUS\s+CREATED\nmy-fleet\s+0\s+ssh \(remote\)\s+cpu=x86:8 mem=64GB disk=500GB gpu=A100:80GB:2\s+\$0\s+idle\s+3 mins ago\n$/);
    const json = await runCmd(FleetList, ['--json', '-a'], envOf(daemon));
    expect(JSON.parse(json.stdout).fleets[0].name).toBe('my-fleet');
    expect(daemon.state.requests.filter((r) => r.url.startsWith('/api/fleets')).map((r) => r.url)).toEqual(['/api/fleets', '/api/fleets?all=1']);
  });

  it('says how to create one when there are none, on stderr', async () => {
    daemon = await startFleetDaemon();
    const r = await runCmd(Fleet, [], envOf(daemon));
    expect(r).toMatchObject({ code: 0, stdout: '' });
    expect(r.stderr).toContain('dstack apply -f fleet.dstack.yml');
  });
});

describe('dstack fleet delete', () => {
  it('an unknown fleet is a clear error, exit 1, before asking', async () => {
    daemon = await startFleetDaemon({ fleets: [fleetView()] });
    const r = await runCmd(FleetDelete, ['nope'], envOf(daemon));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Error: Fleet nope not found\nHint: See `dstack fleet`.\n');
    daemon.state.fleets.push(fleetView({ name: 'old', status: 'terminated', instances: [] }));
    const deleted = await runCmd(FleetDelete, ['old', '-y'], envOf(daemon));
    expect(deleted.code).toBe(1);
    expect(deleted.stderr).toBe('Error: Fleet old does not exist (it was deleted)\nHint: See `dstack fleet -a`.\n');
    expect(daemon.state.requests.some((q) => q.method === 'DELETE')).toBe(false);
  });

  it('without -y and without a terminal fails naming -y and deletes nothing', async () => {
    daemon = await startFleetDaemon({ fleets: [fleetView()] });
    const r = await runCmd(FleetDelete, ['my-fleet'], envOf(daemon));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Delete the fleet my-fleet?');
    expect(r.stderr).toContain('-y/--yes');
    expect(daemon.state.requests.some((q) => q.method === 'DELETE')).toBe(false);
  });

  it('-y deletes, shows each host until it is terminated, then says so', async () => {
    const terminating = fleetView({ status: 'terminating', instances: [instance({ status: 'terminating' }), instance({ name: 'my-fleet-1', host: 'root@10.77.0.12:22', status: 'terminating' })] });
    const halfway = fleetView({ status: 'terminating', instances: [instance({ status: 'terminated' }), terminating.instances[1]!] });
    const done = fleetView({ status: 'terminated', instances: [instance({ status: 'terminated' }), instance({ name: 'my-fleet-1', host: 'root@10.77.0.12:22', status: 'terminated' })] });
    daemon = await startFleetDaemon({ fleets: [fleetView()], applied: terminating, events: [terminating, halfway, done] });
    const r = await runCmd(FleetDelete, ['my-fleet', '-y'], envOf(daemon));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('Fleet my-fleet deleted\n');
    expect(r.stderr.split('\n')).toEqual([
      'Deleting fleet my-fleet...',
      'my-fleet-0 root@10.77.0.11:22: terminating',
      'my-fleet-1 root@10.77.0.12:22: terminating',
      'my-fleet-0 root@10.77.0.11:22: terminated',
      'my-fleet-1 root@10.77.0.12:22: terminated',
      '',
    ]);
    expect(daemon.state.requests.filter((q) => q.method === 'DELETE').map((q) => q.url)).toEqual(['/api/fleets/my-fleet']);
    const forced = await runCmd(FleetDelete, ['my-fleet', '-y', '--force'], envOf(daemon));
    expect(forced.code, forced.stderr).toBe(0);
    expect(daemon.state.requests.filter((q) => q.method === 'DELETE').at(-1)?.url).toBe('/api/fleets/my-fleet?force=1');
  });
});

describe('dstack apply -f fleet.dstack.yml', () => {
  it('a missing file, bad YAML and a schema error name the file (with line:col)', async () => {
    daemon = await startFleetDaemon();
    const missing = await runCmd(Apply, ['-f', join(dir, 'nope.dstack.yml')], envOf(daemon));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`${join(dir, 'nope.dstack.yml')}: no such file`);
    const badYaml = await runCmd(Apply, ['-f', await writeFleet('type: fleet\nssh_config: [\n')], envOf(daemon));
    expect(badYaml.code).toBe(1);
    expect(badYaml.stderr).toMatch(/fleet-\w+\.dstack\.yml:3:1: invalid YAML/);
    const schema = await runCmd(Apply, ['-f', await writeFleet('type: fleet\nssh_config:\n  user: root\n  hosts: []\n')], envOf(daemon));
    expect(schema.code).toBe(1);
    expect(schema.stderr).toMatch(/fleet-\w+\.dstack\.yml:4:\d+ ssh_config\.hosts: at least one host is required/);
    expect(daemon.state.requests.some((q) => q.url.startsWith('/api/fleets'))).toBe(false);
  });

  it('an unreadable identity_file is named with its key before anything is sent', async () => {
    daemon = await startFleetDaemon({ plan: fleetPlan() });
    const file = await writeFleet(fleetYaml.replace('~/.ssh/id_test', '~/.ssh/id_missing'));
    const r = await runCmd(Apply, ['-f', file, '-y', '-e', 'NO_PROXY=x'], envOf(daemon));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}: ssh_config.identity_file: cannot read ~/.ssh/id_missing (ENOENT)`);
    expect(daemon.state.requests.some((q) => q.url.startsWith('/api/fleets'))).toBe(false);
  });

  it('an unset required env variable is named', async () => {
    daemon = await startFleetDaemon({ plan: fleetPlan() });
    const r = await runCmd(Apply, ['-f', await writeFleet(), '-y'], envOf(daemon));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Environment variable NO_PROXY is not set');
  });

  it('without -y and without a terminal fails naming -y after showing the plan, and applies nothing', async () => {
    daemon = await startFleetDaemon({ plan: fleetPlan() });
    const r = await runCmd(Apply, ['-f', await writeFleet(), '-e', 'NO_PROXY=localhost'], envOf(daemon));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Fleet type     ssh');
    expect(r.stderr).toContain('Fleet my-fleet does not exist yet. Create the fleet? — cannot ask without a terminal');
    expect(r.stderr).toContain('-y/--yes');
    expect(daemon.state.requests.some((q) => q.url === '/api/fleets/apply')).toBe(false);
  });

  it('-y: plan, apply with resolved env and absolute key paths, a line per host change, the table; one failed host is reported', async () => {
    const step = fleetView({ ...pending, instances: [instance({ status: 'provisioning', progress: 'uploading dstack-agent', resources: undefined }), pending.instances[1]!] });
    const settled = fleetView({ instances: [instance(), instance({ name: 'my-fleet-1', host: 'root@10.77.0.12:22', status: 'terminated', error: 'Permission denied (publickey)', resources: undefined })] });
    daemon = await startFleetDaemon({ plan: fleetPlan(), applied: pending, fleets: [pending], events: [step, settled] });
    const r = await runCmd(Apply, ['-f', await writeFleet(), '-y', '-e', 'NO_PROXY=localhost'], envOf(daemon));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ Project\s+main\n Configuration\s+\S+fleet-\w+\.dstack\.yml\n Type\s+fleet\n Fleet type\s+ssh\n Nodes\s+2\n Placement\s+any\n/);
    expect(r.stdout).toMatch(/HOST\s+INSTANCE\s+ACTION\nroot@10\.77\.0\.11:22\s+my-fleet-0\s+add\n/);
    expect(r.stdout).toMatch(/FLEET\s+INSTANCE\s+BACKEND\s+RESOURCES\s+PRICE\s+STATUS\s+CREATED\nmy-fleet\s+0\s+ssh \(remote\)\s+cpu=x86:8 .*idle/);
    expect(r.stderr.split('\n').slice(0, 6)).toEqual([
      'Fleet my-fleet: submitted',
      'my-fleet-0 root@10.77.0.11:22: pending',
      'my-fleet-1 root@10.77.0.12:22: pending',
      'my-fleet-0 root@10.77.0.11:22: provisioning (uploading dstack-agent)',
      'Fleet my-fleet: active',
      'my-fleet-0 root@10.77.0.11:22: idle',
    ]);
    expect(r.stderr).toContain('Host root@10.77.0.12:22 (my-fleet-1) failed: Permission denied (publickey)');
    expect(r.stderr).toContain('Fleet my-fleet: 1 of 2 hosts joined');
    const sent = daemon.state.requests.find((q) => q.url === '/api/fleets/apply')?.body as { config: Record<string, any>; force: boolean };
    expect(sent.force).toBe(false);
    expect(sent.config.env).toEqual({ HTTP_PROXY: 'http://proxy:3128', FLEET_PROXY: 'http://proxy:3128', NO_PROXY: 'localhost' });
    expect(sent.config.ssh_config.identity_file).toBe(join(dir, '.ssh/id_test'));
    expect(sent.config.ssh_config.hosts[1].identity_file).toBe(join(dir, '.ssh/id_test'));
    // Relative to the configuration's folder, wherever the CLI runs (the daemon resolves them the same way).
    expect(sent.config.ssh_config.hosts[2].identity_file).toBe(join(dir, '.ssh/id_test'));
  });

  it('exits 1 naming each failed host when none joined; --json prints the fleet', async () => {
    const failed = fleetView({ status: 'failed', instances: [instance({ status: 'terminated', error: 'Connection refused' }), instance({ name: 'my-fleet-1', host: 'root@10.77.0.12:22', status: 'terminated', error: 'host key changed' })] });
    daemon = await startFleetDaemon({ plan: fleetPlan(), applied: pending, fleets: [pending], events: [failed] });
    const r = await runCmd(Apply, ['-f', await writeFleet(), '-y', '--json', '-e', 'NO_PROXY=x'], envOf(daemon));
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout.slice(0, r.stdout.lastIndexOf('}\n') + 1)).status).toBe('failed');
    expect(r.stderr).toContain('Host root@10.77.0.11:22 (my-fleet-0) failed: Connection refused');
    expect(r.stderr).toContain('Host root@10.77.0.12:22 (my-fleet-1) failed: host key changed');
    expect(r.stderr).toContain('Error: No host of fleet my-fleet joined');
  });

  it('-d detaches right after apply; an unchanged fleet stops without --force', async () => {
    daemon = await startFleetDaemon({ plan: fleetPlan(), applied: pending, fleets: [pending] });
    const detached = await runCmd(Apply, ['-f', await writeFleet(), '-y', '-d', '-e', 'NO_PROXY=x'], envOf(daemon));
    expect(detached.code, detached.stderr).toBe(0);
    expect(detached.stderr).toContain('Fleet my-fleet submitted, detaching...');
    expect(daemon.state.requests.some((q) => q.url.endsWith('/events'))).toBe(false);
    daemon.state.plan = fleetPlan({ action: 'none' });
    daemon.state.requests.length = 0;
    const same = await runCmd(Apply, ['-f', await writeFleet(), '-y', '-e', 'NO_PROXY=x'], envOf(daemon));
    expect(same.code).toBe(0);
    expect(same.stdout).toContain('Fleet configuration has not changed. Use --force to apply it anyway.');
    expect(daemon.state.requests.some((q) => q.url === '/api/fleets/apply')).toBe(false);
  });
});

describe('dstack offer with fleet hosts', () => {
  it('shows the fleet and instance of each offer, passes --gpu, and keeps --json', async () => {
    daemon = await startFleetDaemon({ offers: [sshOffer(), sshOffer({ instance: 'my-fleet-1', availability: 'busy' })] });
    const r = await runCmd(Offer, ['--gpu', 'A100:2'], envOf(daemon));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^#\s+BACKEND\s+FLEET\s+INSTANCE\s+RESOURCES\s+INSTANCE TYPE\s+PRICE\n1\s+ssh \(remote\)\s+my-fleet\s+my-fleet-0\s+cpu=x86:8 mem=64GB disk=500GB gpu=A100:80GB:2\s+instance\s+\$0\s+idle\n/);
    expect(daemon.state.requests.at(-1)?.url).toBe('/api/offers?gpu=A100%3A2');
    const json = await runCmd(Offer, ['--json'], envOf(daemon));
    expect(JSON.parse(json.stdout).offers.map((o: { instance: string }) => o.instance)).toEqual(['my-fleet-0', 'my-fleet-1']);
  });
});
