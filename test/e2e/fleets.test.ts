/**
 * A service on an SSH fleet with the built CLI and the daemon it starts (issue 5): a two-host fleet applied through
 * the daemon's fleet API (the fleet commands have their own e2e file, fleet-cli.test.ts), then `dstack apply` of a
 * `replicas: 2` service that lands one replica per host and answers through the proxy; deleting the fleet refused
 * while the run lives (naming it), then, after `dstack stop`, leaving both hosts without containers or agent.
 * Needs root, `scripts/test-hosts.sh up 2` and `npm run build`.
 */
import { execFileSync } from 'node:child_process';
import Docker from 'dockerode';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetView, RunView } from '../../src/core/api.js';
import { LABELS } from '../../src/core/model/agent-constants.js';
import { dockerOptions, holdTestHosts, loadTestHosts, type TestHost } from '../helpers/test-hosts.js';
import { echoServiceYaml, eventually, newCli, uniqueName, type Cli } from './cli-harness.js';

const FLEET = uniqueName('e2e-fl');
const RUN = uniqueName('e2e-flsvc');
let cli: Cli;
let hosts: TestHost[];

const fleetConfig = () => ({
  type: 'fleet',
  name: FLEET,
  ssh_config: { user: hosts[0]!.user, identity_file: hosts[0]!.identityFile, hosts: hosts.map((h) => h.ip) },
});
const serviceYaml = `${echoServiceYaml(RUN, 2)}stop_duration: 1s
resources:
  cpu: 1..
  memory: 0.25GB..
  disk: 1GB..
`;
/** The daemon's control API (the CLI started the daemon; its admin token is in DSTACK_HOME/config.yml). */
async function fleetApi(method: 'POST' | 'GET' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; body: FleetView & { code?: string; message?: string } }> {
  const res = await request(`http://127.0.0.1:${cli.port}${path}`, {
    method,
    headers: { authorization: `Bearer ${await cli.token()}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : null,
  });
  return { status: res.statusCode, body: (await res.body.json()) as FleetView };
}
const ready = (v: RunView | undefined) => v?.replicas.filter((r) => r.status === 'running' && r.ready) ?? [];
const containers = (h: TestHost, all = false) =>
  new Docker(dockerOptions(h.dockerHost)).listContainers({ all, filters: { label: [`${LABELS.run}=${RUN}`] } });
/** Agent processes of the hosts (their $HOME is /run/dstack-test/hosts/hN/home; the hosts share this machine). */
const agents = () => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => /\/run\/dstack-test\/hosts\/h[12]\/home\/\.dstack\/agent\/dstack-agent/.test(l));

holdTestHosts();

beforeAll(async () => {
  hosts = loadTestHosts(2).hosts.slice(0, 2);
  cli = await newCli();
});

afterAll(async () => {
  await cli?.run(['stop', RUN, '-y', '-x']);
  if (cli) await fleetApi('DELETE', `/api/fleets/${FLEET}?force=1`).catch(() => undefined);
  if (cli) await eventually('fleet gone', async () => ((await fleetApi('GET', `/api/fleets/${FLEET}`)).body.status === 'terminated' ? true : undefined), 60_000).catch(() => undefined);
  await cli?.cleanup([RUN]);
});

describe('a service on an SSH fleet (built CLI)', () => {
  it('places one replica per fleet host, both answering through the proxy', async () => {
    await cli.ps(); // starts the daemon
    expect((await fleetApi('POST', '/api/fleets/apply', { config: fleetConfig() })).status).toBe(200);
    await eventually('both hosts idle', async () => {
      const f = (await fleetApi('GET', `/api/fleets/${FLEET}`)).body;
      return f.instances.length === 2 && f.instances.every((i) => i.status === 'idle') ? f : undefined;
    }, 120_000);
    const svc = await cli.run(['apply', '-f', await cli.write('svc.dstack.yml', serviceYaml), '-y', '-d']);
    expect(svc.exitCode, svc.stderr).toBe(0);
    const run = await eventually('2 ready replicas', async () => {
      const v = (await cli.ps()).find((r) => r.name === RUN);
      return ready(v).length === 2 ? v : undefined;
    }, 180_000);
    expect(new Set(ready(run).map((r) => r.instance))).toEqual(new Set([`${FLEET}-0`, `${FLEET}-1`]));
    for (const h of hosts) expect(await containers(h)).toHaveLength(1);
    for (let i = 0; i < 6; i++) {
      const res = await request(`http://127.0.0.1:${cli.port}/proxy/services/main/${RUN}/`);
      await res.body.dump();
      expect(res.statusCode).toBe(200);
    }
  }, 400_000);

  it('refuses to delete the fleet while the run lives, then leaves both hosts clean', async () => {
    const refused = await fleetApi('DELETE', `/api/fleets/${FLEET}`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'FLEET_IN_USE', message: expect.stringContaining(RUN) });

    const stopped = await cli.run(['stop', RUN, '-y']);
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    await eventually('run terminated', async () => ((await cli.ps()).find((r) => r.name === RUN)?.status === 'terminated' ? true : undefined), 120_000);
    expect((await fleetApi('DELETE', `/api/fleets/${FLEET}`)).status).toBe(200);
    await eventually('fleet terminated', async () => ((await fleetApi('GET', `/api/fleets/${FLEET}`)).body.status === 'terminated' ? true : undefined), 120_000);
    for (const h of hosts) expect(await containers(h, true)).toEqual([]);
    await eventually('agents stopped', async () => (agents().length === 0 ? true : undefined), 30_000).catch(() => undefined);
    expect(agents()).toEqual([]);
  }, 300_000);
});
