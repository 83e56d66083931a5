// Projects in the daemon (issue 17): two users, each the admin of a project with an SSH fleet of the same name on
// a test host of its own. A member of project A cannot list, get, stop, read the logs or events of, attach to, or
// reach through the service proxy or the models endpoint project B's runs, nor see B's fleets or secrets (each
// attempt a 403/404), while B's member can; the server admin sees both; a run of A is placed on A's fleet only,
// never on B's host. Needs root and `scripts/test-hosts.sh up 2`.
import { request as httpRequest } from 'node:http';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetView, RunView } from '../../../src/core/api.js';
import { holdTestHosts, loadTestHosts, type TestHost } from '../../helpers/test-hosts.js';
import { Api, buildAgent, isReady, removeDir, tempDir, waitFor } from '../daemon/harness.js';
import { startFleetDaemon, type FleetDaemon } from '../fleets/helpers.js';

const FLEET = 'gpu';
let hosts: TestHost[];
let dir: string;
let t: FleetDaemon;
const tokens: Record<'alice' | 'bob', string> = { alice: '', bob: '' };

const as = (user: 'alice' | 'bob' | 'admin') => new Api(t.daemon.url, user === 'admin' ? t.api.token : tokens[user]);
const call = <T = unknown>(user: 'alice' | 'bob' | 'admin', method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown) => as(user).call<T>(method, path, body);
const ok = <T>(r: { status: number; body: T }): T => {
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
};

const fleetConfig = (host: TestHost) => ({ type: 'fleet', name: FLEET, ssh_config: { user: 'root', hosts: [{ hostname: host.ip, identity_file: host.identityFile }] }, blocks: 2 });
const service = (name: string, replicas: number) => ({
  type: 'service',
  name,
  image: 'dstack-test/node:latest',
  commands: ['node /srv/http-echo.mjs'],
  env: { PORT: '8000' },
  port: 8000,
  replicas,
  stop_duration: 1,
  model: `${name}-model`,
  resources: { cpu: '1..', memory: '0.25GB..', disk: '1GB..' },
});

/** The status of a tunnel request to a run (attach.ts answers a refusal as JSON and closes). */
function attachStatus(path: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${t.daemon.url}${path}`, { headers: { authorization: `Bearer ${token}`, connection: 'Upgrade', upgrade: 'dstack-attach' } });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve(101);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The status of a GET with `token` (the proxy, or a control route that answers text). */
async function proxied(path: string, token: string): Promise<number> {
  const res = await request(`${t.daemon.url}${path}`, { headers: { authorization: `Bearer ${token}` }, headersTimeout: 10_000, bodyTimeout: 10_000 });
  await res.body.text();
  return res.statusCode;
}

const fleetReady = async (user: 'alice' | 'bob', project: string) =>
  waitFor(`${project}'s fleet to join`, async () => {
    const f = ok(await call<FleetView>(user, 'GET', `/api/projects/${project}/fleets/${FLEET}`));
    return f.instances.length > 0 && f.instances.every((i) => i.status === 'idle' || i.status === 'busy') ? f : undefined;
  }, 120_000);

const runReady = async (user: 'alice' | 'bob', project: string, name: string, n: number) =>
  waitFor(`${project}/${name} ready`, async () => {
    const v = ok(await call<RunView>(user, 'GET', `/api/projects/${project}/runs/${name}`));
    return isReady(v, n) ? v : undefined;
  }, 180_000);

holdTestHosts();

beforeAll(async () => {
  hosts = loadTestHosts(2).hosts.slice(0, 2);
  dir = await tempDir('dstack-projects-test-');
  t = await startFleetDaemon(await buildAgent(dir), 11_173, 30_000);
  for (const user of ['alice', 'bob'] as const) {
    tokens[user] = ok(await call<{ token: string }>('admin', 'POST', '/api/users', { name: user })).token;
  }
  ok(await call('alice', 'POST', '/api/projects', { name: 'pa' }));
  ok(await call('bob', 'POST', '/api/projects', { name: 'pb' }));
  // The same fleet name in both projects: fleet names are per project.
  ok(await call('alice', 'POST', '/api/projects/pa/fleets/apply', { config: fleetConfig(hosts[0]!) }));
  ok(await call('bob', 'POST', '/api/projects/pb/fleets/apply', { config: fleetConfig(hosts[1]!) }));
  await fleetReady('alice', 'pa');
  await fleetReady('bob', 'pb');
  // Two replicas each: without isolation the scheduler would spread A's second replica to B's emptier host.
  ok(await call('alice', 'POST', '/api/projects/pa/runs/apply', { config: service('svc-a', 2) }));
  ok(await call('bob', 'POST', '/api/projects/pb/runs/apply', { config: service('svc-b', 1) }));
  ok(await call('alice', 'PUT', '/api/projects/pa/secrets/A_SECRET', { value: 'alice-only' }));
}, 600_000);

afterAll(async () => {
  if (t) {
    for (const [user, project, run] of [['alice', 'pa', 'svc-a'], ['bob', 'pb', 'svc-b']] as const) {
      await call(user, 'POST', `/api/projects/${project}/runs/${run}/stop`, { abort: true }).catch(() => undefined);
    }
    for (const [user, project] of [['alice', 'pa'], ['bob', 'pb']] as const) {
      await waitFor(`${project}'s run to end`, async () => {
        const r = await call<{ runs: RunView[] }>(user, 'GET', `/api/projects/${project}/runs?all=1`);
        return r.body.runs.every((v) => ['terminated', 'failed', 'done'].includes(v.status));
      }, 60_000).catch(() => undefined);
      await call(user, 'DELETE', `/api/projects/${project}/fleets/${FLEET}?force=1`).catch(() => undefined);
      await waitFor('fleet cleanup', async () => ok(await call<FleetView>(user, 'GET', `/api/projects/${project}/fleets/${FLEET}`)).status === 'terminated', 60_000).catch(() => undefined);
    }
    await t.close();
  }
  if (dir) await removeDir(dir);
}, 240_000);

describe('projects in the daemon', () => {
  it("places a run on its own project's fleet only, never on another project's host", async () => {
    const a = await runReady('alice', 'pa', 'svc-a', 2);
    const b = await runReady('bob', 'pb', 'svc-b', 1);
    const fa = ok(await call<FleetView>('alice', 'GET', `/api/projects/pa/fleets/${FLEET}`));
    const fb = ok(await call<FleetView>('bob', 'GET', `/api/projects/pb/fleets/${FLEET}`));
    expect(fa.instances.map((i) => i.host)).toEqual([`root@${hosts[0]!.ip}:22`]);
    expect(fb.instances.map((i) => i.host)).toEqual([`root@${hosts[1]!.ip}:22`]);
    const aInstances = new Set(fa.instances.map((i) => i.name));
    expect(a.replicas.filter((r) => r.status === 'running').map((r) => r.instance).every((i) => i !== undefined && aInstances.has(i))).toBe(true);
    expect(b.replicas.filter((r) => r.status === 'running').map((r) => r.instance)).toEqual(fb.instances.map((i) => i.name));
  });

  it("refuses a member of B every way into A's runs, services, models, fleets and secrets", async () => {
    await runReady('alice', 'pa', 'svc-a', 1);
    const refused = [
      ['GET', '/api/projects/pa/runs'],
      ['GET', '/api/projects/pa/runs/svc-a'],
      ['POST', '/api/projects/pa/runs/svc-a/stop'],
      ['GET', '/api/projects/pa/runs/svc-a/logs'],
      ['GET', '/api/projects/pa/runs/svc-a/events'],
      ['GET', '/api/projects/pa/runs/svc-a/attach'],
      ['POST', '/api/projects/pa/runs/apply'],
      ['GET', '/api/projects/pa/fleets'],
      ['GET', `/api/projects/pa/fleets/${FLEET}`],
      ['DELETE', `/api/projects/pa/fleets/${FLEET}`],
      ['GET', '/api/projects/pa/secrets'],
      ['GET', '/api/projects/pa/secrets/A_SECRET'],
      ['DELETE', '/api/projects/pa/secrets/A_SECRET'],
      // Unprefixed routes are the default project's, of which bob is no member.
      ['GET', '/api/runs'],
      ['GET', '/api/fleets'],
    ] as const;
    for (const [method, path] of refused) {
      const r = await call<{ code: string }>('bob', method, path, method === 'GET' || method === 'DELETE' ? undefined : {});
      expect({ method, path, status: r.status, code: r.body.code }).toEqual({ method, path, status: 403, code: 'FORBIDDEN' });
    }
    expect(await attachStatus('/api/projects/pa/runs/svc-a/attach?replica=0&port=8000', tokens.bob)).toBe(403);
    expect(await proxied('/proxy/services/pa/svc-a/', tokens.bob)).toBe(403);
    expect(await proxied('/proxy/models/pa/v1/models', tokens.bob)).toBe(401);
    // A project that does not exist is a 404, for anyone.
    const missing = await call<{ code: string }>('bob', 'GET', '/api/projects/nope/runs');
    expect([missing.status, missing.body.code]).toEqual([404, 'PROJECT_NOT_FOUND']);
    // Still running: bob's stop was refused.
    expect(ok(await call<RunView>('alice', 'GET', '/api/projects/pa/runs/svc-a')).status).toBe('running');
  });

  it("lets each member reach their own project's runs, services and models, and the admin both", async () => {
    await runReady('alice', 'pa', 'svc-a', 1);
    await runReady('bob', 'pb', 'svc-b', 1);
    const names = async (user: 'alice' | 'bob' | 'admin', project: string) =>
      ok(await call<{ runs: RunView[] }>(user, 'GET', `/api/projects/${project}/runs`)).runs.map((r) => r.name);
    expect(await names('alice', 'pa')).toEqual(['svc-a']);
    expect(await names('bob', 'pb')).toEqual(['svc-b']);
    expect(await names('admin', 'pa')).toEqual(['svc-a']);
    expect(await names('admin', 'pb')).toEqual(['svc-b']);
    expect(await proxied('/api/projects/pa/runs/svc-a/logs', tokens.alice)).toBe(200);
    expect(await proxied('/proxy/services/pa/svc-a/', tokens.alice)).toBe(200);
    expect(await proxied('/proxy/services/pb/svc-b/', tokens.bob)).toBe(200);
    expect(await proxied('/proxy/services/pb/svc-b/', tokens.alice)).toBe(403);
    expect(await proxied('/proxy/models/pb/v1/models', tokens.bob)).toBe(200);
    expect(await proxied('/proxy/models/pa/v1/models', t.api.token)).toBe(200);
    expect(await proxied('/proxy/services/pb/svc-b/', t.api.token)).toBe(200);
    // Secrets are per project: bob's project has none of alice's.
    expect(ok(await call<{ secrets: { name: string }[] }>('bob', 'GET', '/api/projects/pb/secrets')).secrets).toEqual([]);
    expect(ok(await call<{ value: string }>('alice', 'GET', '/api/projects/pa/secrets/A_SECRET')).value).toBe('alice-only');
    // Fleets: each project sees its own `gpu` only.
    const fleets = async (user: 'alice' | 'bob' | 'admin', project: string) =>
      ok(await call<{ fleets: FleetView[] }>(user, 'GET', `/api/projects/${project}/fleets`)).fleets.flatMap((f) => f.instances.map((i) => i.host));
    expect(await fleets('alice', 'pa')).toEqual([`root@${hosts[0]!.ip}:22`]);
    expect(await fleets('admin', 'pb')).toEqual([`root@${hosts[1]!.ip}:22`]);
  });
});
