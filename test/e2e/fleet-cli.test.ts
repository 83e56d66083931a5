/**
 * The fleet CLI end to end: `dstack apply -f fleet.dstack.yml` of two SSH test hosts with the built CLI and the
 * daemon it starts, then `dstack fleet` (table and --json), `dstack offer` showing the hosts, an unchanged
 * re-apply, and `dstack fleet delete -y`. Needs root, `scripts/test-hosts.sh up 2` (network-namespace hosts with
 * sshd and dockerd) and `npm run build`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetView, Offer } from '../../src/core/api.js';
import { holdTestHosts, loadTestHosts, type TestHost } from '../helpers/test-hosts.js';
import { newCli, uniqueName, type Cli } from './cli-harness.js';

const FLEET = uniqueName('e2e-fleet');
let cli: Cli;
let hosts: TestHost[];

const fleetYaml = (name: string, members: TestHost[]) => `type: fleet
name: ${name}
ssh_config:
  user: ${members[0]!.user}
  identity_file: ${members[0]!.identityFile}
  hosts:
${members.map((h) => `    - hostname: ${h.ip}\n      port: ${h.sshPort}`).join('\n')}
`;

async function fleets(): Promise<FleetView[]> {
  const r = await cli.run(['fleet', '--json']);
  if (r.exitCode !== 0) throw new Error(`dstack fleet --json failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { fleets: FleetView[] }).fleets;
}

holdTestHosts();

beforeAll(async () => {
  hosts = loadTestHosts(2).hosts.slice(0, 2);
  cli = await newCli();
});

afterAll(async () => {
  // Leaves the hosts clean even when a test failed half-way; a fleet already deleted answers FLEET_NOT_FOUND.
  await cli?.run(['fleet', 'delete', FLEET, '-y']);
  await cli?.cleanup([]);
});

describe('dstack apply of an SSH fleet', () => {
  it('shows the plan, provisions both hosts with progress, and prints the fleet table', async () => {
    const file = await cli.write('fleet.dstack.yml', fleetYaml(FLEET, hosts));
    const r = await cli.run(['apply', '-f', file, '-y']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ Type\s+fleet\n Fleet type\s+ssh\n Nodes\s+2\n/);
    for (const h of hosts) expect(r.stdout).toMatch(new RegExp(`${h.ip.replaceAll('.', '\\.')}\\S*\\s+${FLEET}-\\d+\\s+add`));
    // Without a terminal: one plain line per host change, ending with both hosts idle.
    expect(r.stderr).toMatch(new RegExp(`${FLEET}-\\d+ \\S*10\\.77\\.0\\.11\\S*: idle`));
    expect(r.stderr).toMatch(new RegExp(`${FLEET}-\\d+ \\S*10\\.77\\.0\\.12\\S*: idle`));
    expect(r.stderr).toContain(`Fleet ${FLEET}: 2 of 2 hosts joined`);
    expect(r.stdout).toMatch(new RegExp(`FLEET\\s+INSTANCE\\s+BACKEND\\s+RESOURCES\\s+PRICE\\s+STATUS\\s+CREATED\\n${FLEET}\\s+\\d+\\s+ssh \\(remote\\)\\s+cpu=`));
  }, 240_000);

  it('dstack fleet lists both instances with real resources; --json has the same', async () => {
    const table = await cli.run(['fleet']);
    expect(table.exitCode, table.stderr).toBe(0);
    const rows = table.stdout.split('\n').filter((l) => /ssh \(remote\)/.test(l));
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatch(/cpu=\S+ mem=\d+GB disk=\d+GB\s+\$0\s+idle\s/);

    const [fleet] = (await fleets()).filter((f) => f.name === FLEET);
    expect(fleet?.status).toBe('active');
    expect(fleet?.instances.map((i) => i.status)).toEqual(['idle', 'idle']);
    for (const i of fleet?.instances ?? []) {
      expect(i.unreachable).toBe(false);
      expect(i.resources?.cpus).toBeGreaterThan(0);
      expect(i.resources?.memoryBytes).toBeGreaterThan(0);
    }
  });

  it('dstack offer shows each host of the fleet, in the table and with --json', async () => {
    const json = await cli.run(['offer', '--json']);
    expect(json.exitCode, json.stderr).toBe(0);
    const offers = (JSON.parse(json.stdout) as { offers: Offer[] }).offers.filter((o) => o.fleet === FLEET);
    expect(new Set(offers.map((o) => o.instance)).size).toBe(2);
    const table = await cli.run(['offer']);
    expect(table.exitCode, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^#\s+BACKEND\s+FLEET\s+INSTANCE\s+RESOURCES/);
    expect(table.stdout.split('\n').filter((l) => l.includes(FLEET))).toHaveLength(2);
  });

  it('re-applying the same file with -y changes nothing', async () => {
    const r = await cli.run(['apply', '-f', 'fleet.dstack.yml', '-y']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('Fleet configuration has not changed.');
    expect((await fleets()).find((f) => f.name === FLEET)?.instances.map((i) => i.status)).toEqual(['idle', 'idle']);
  });

  it('dstack fleet delete -y waits until the hosts are terminated; an unknown fleet exits 1', async () => {
    const r = await cli.run(['fleet', 'delete', FLEET, '-y']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe(`Fleet ${FLEET} deleted`);
    // Each host's line ends `terminated`, without a teardown error.
    for (const h of hosts) expect(r.stderr).toMatch(new RegExp(`${h.ip.replaceAll('.', '\\.')}\\S*: terminated$`, 'm'));
    const left = (await fleets()).find((f) => f.name === FLEET);
    expect(left === undefined || left.instances.every((i) => i.status === 'terminated')).toBe(true);

    const unknown = await cli.run(['fleet', 'delete', 'no-such-fleet', '-y']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain('no-such-fleet');
  }, 180_000);
});
