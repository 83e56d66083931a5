// One SSH host, two projects (issue 17): a host runs one agent (one token, one install, one teardown), so a fleet of
// another project that names a host already in a fleet is refused with HOST_IN_ANOTHER_FLEET (409), without naming
// the other project's fleet, and nothing is written. Once the first fleet is deleted, the other project's fleet
// joins that host, its service runs there, and the proxy keeps the projects apart (a member of the default project
// is refused on it, its own member and the server admin reach it). Needs root and `scripts/test-hosts.sh up 1`.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetView, RunView } from '../../../src/core/api.js';
import { holdTestHosts, loadTestHosts, type TestHost } from '../../helpers/test-hosts.js';
import { Api, buildAgent, isReady, removeDir, tempDir, waitFor } from '../daemon/harness.js';
import { startFleetDaemon, type FleetDaemon } from '../fleets/helpers.js';

let host: TestHost;
let dir: string;
let t: FleetDaemon;
const tokens: Record<'alice' | 'bob', string> = { alice: '', bob: '' };
type Who = 'alice' | 'bob' | 'admin';

const as = (who: Who) => new Api(t.daemon.url, who === 'admin' ? t.api.token : tokens[who]);
const call = <T = unknown>(who: Who, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown) => as(who).call<T>(method, path, body);
const ok = <T>(r: { status: number; body: T }): T => {
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
};

// Each project's routes: the default project's unprefixed (as clients from before projects call them), pa's prefixed.
const MAIN = { project: 'main', prefix: '/api', fleet: 'shared-main', run: 'svc-main', who: 'bob' as const };
const PA = { project: 'pa', prefix: '/api/projects/pa', fleet: 'shared-pa', run: 'svc-pa', who: 'alice' as const };

const fleetConfig = (name: string) => ({ type: 'fleet', name, ssh_config: { user: 'root', hosts: [{ hostname: host.ip, identity_file: host.identityFile }] }, blocks: 2 });
const service = (name: string) => ({
  type: 'service',
  name,
  image: 'dstack-test/node:latest',
  commands: ['node /srv/http-echo.mjs'],
  env: { PORT: '8000' },
  port: 8000,
  replicas: 1,
  stop_duration: 1,
  resources: { cpu: '1..', memory: '0.25GB..', disk: '1GB..' },
});

async function proxied(project: string, run: string, token: string): Promise<number> {
  const res = await request(`${t.daemon.url}/proxy/services/${project}/${run}/`, { headers: { authorization: `Bearer ${token}` }, headersTimeout: 10_000, bodyTimeout: 10_000 });
  await res.body.text();
  return res.statusCode;
}

holdTestHosts();

describe('one host, two projects', () => {
  beforeAll(async () => {
    host = loadTestHosts(1).hosts[0]!;
    dir = await tempDir('dstack-shared-host-');
    t = await startFleetDaemon(await buildAgent(dir), 11_187, 30_000);
    for (const user of ['alice', 'bob'] as const) tokens[user] = ok(await call<{ token: string }>('admin', 'POST', '/api/users', { name: user })).token;
    ok(await call('alice', 'POST', '/api/projects', { name: 'pa' }));
    // bob is a member of the default project only, alice of pa only.
    ok(await call('admin', 'POST', '/api/projects/main/members', { user: 'bob', role: 'user' }));
    ok(await call(MAIN.who, 'POST', `${MAIN.prefix}/fleets/apply`, { config: fleetConfig(MAIN.fleet) }));
    await joined(MAIN);
  }, 600_000);

  afterAll(async () => {
    if (t) {
      await call('admin', 'POST', `${PA.prefix}/runs/${PA.run}/stop`, { abort: true }).catch(() => undefined);
      await waitFor(`${PA.run} to end`, async () => {
        const r = await call<{ runs: RunView[] }>('admin', 'GET', `${PA.prefix}/runs?all=1`);
        return r.body.runs.every((v) => ['terminated', 'failed', 'done'].includes(v.status));
      }, 60_000).catch(() => undefined);
      for (const p of [MAIN, PA]) {
        await call('admin', 'DELETE', `${p.prefix}/fleets/${p.fleet}?force=1`).catch(() => undefined);
        await waitFor('fleet cleanup', async () => ok(await call<FleetView>('admin', 'GET', `${p.prefix}/fleets/${p.fleet}`)).status === 'terminated', 60_000).catch(() => undefined);
      }
      await t.close();
    }
    if (dir) await removeDir(dir);
  }, 240_000);

  it("refuses another project's fleet on a host the default project's fleet holds, without naming that fleet", async () => {
    const r = await call<{ code?: string; message?: string; hint?: string }>(PA.who, 'POST', `${PA.prefix}/fleets/apply`, { config: fleetConfig(PA.fleet) });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: 'HOST_IN_ANOTHER_FLEET', message: `fleet \`${PA.fleet}\`: host \`${host.ip}:22\` already belongs to a fleet of another project` });
    expect(JSON.stringify(r.body)).not.toContain(MAIN.fleet);
    expect(ok(await call<{ fleets: FleetView[] }>(PA.who, 'GET', `${PA.prefix}/fleets?all=1`)).fleets).toEqual([]);
    expect(ok(await call<{ fleets: FleetView[] }>(MAIN.who, 'GET', `${MAIN.prefix}/fleets`)).fleets.map((f) => [f.name, f.instances.length])).toEqual([[MAIN.fleet, 1]]);
  });

  it('lets the host join the other project once its fleet is gone; that service runs there and the proxy keeps the projects apart', async () => {
    ok(await call(MAIN.who, 'DELETE', `${MAIN.prefix}/fleets/${MAIN.fleet}`));
    await waitFor('the default fleet to be deleted', async () => ok(await call<FleetView>('admin', 'GET', `${MAIN.prefix}/fleets/${MAIN.fleet}`)).status === 'terminated', 120_000);
    ok(await call(PA.who, 'POST', `${PA.prefix}/fleets/apply`, { config: fleetConfig(PA.fleet) }));
    const fleet = await joined(PA);
    expect(fleet.instances.map((i) => i.host)).toEqual([`root@${host.ip}:22`]);
    ok(await call(PA.who, 'POST', `${PA.prefix}/runs/apply`, { config: service(PA.run) }));
    const run = await waitFor(`${PA.run} ready`, async () => {
      const v = ok(await call<RunView>(PA.who, 'GET', `${PA.prefix}/runs/${PA.run}`));
      return isReady(v, 1) ? v : undefined;
    }, 180_000);
    expect(run.replicas.filter((r) => r.status === 'running').map((r) => r.instance)).toEqual(fleet.instances.map((i) => i.name));
    expect(ok(await call<{ runs: RunView[] }>(MAIN.who, 'GET', `${MAIN.prefix}/runs`)).runs).toEqual([]);
    expect((await call('bob', 'GET', `${PA.prefix}/runs`)).status).toBe(403);
    expect(await proxied(PA.project, PA.run, tokens.alice)).toBe(200);
    expect(await proxied(PA.project, PA.run, tokens.bob)).toBe(403);
    expect(await proxied(PA.project, PA.run, t.api.token)).toBe(200);
  });
});

async function joined(p: typeof MAIN | typeof PA): Promise<FleetView> {
  return waitFor(`${p.project}'s fleet to join`, async () => {
    const f = ok(await call<FleetView>(p.who, 'GET', `${p.prefix}/fleets/${p.fleet}`));
    return f.instances.length > 0 && f.instances.every((i) => i.status === 'idle' || i.status === 'busy') ? f : undefined;
  }, 120_000);
}
