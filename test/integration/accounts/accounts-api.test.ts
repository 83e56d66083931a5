/**
 * The users and projects routes (createAccountsApi) over real HTTP on loopback, on both state stores, behind a
 * small server that resolves the caller as the daemon's router does (resolvePrincipal over the stored users).
 * The bootstrap (ensureAccounts) makes config.yml's admin and projects, as the daemon does when it starts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { resolvePrincipal, tokenHash } from '../../../src/core/auth/principal.js';
import { emptyState, RunRecord, FleetRecord } from '../../../src/core/state/schema.js';
import type { StateStore } from '../../../src/core/state/store.js';
import { ensureAccounts } from '../../../src/daemon/accounts/bootstrap.js';
import { createProject, deleteProject } from '../../../src/daemon/accounts/projects.js';
import { createAccountsApi } from '../../../src/daemon/api/accounts.js';
import { bearer, sendJson } from '../../../src/daemon/api/http.js';
import { createJsonStateStore, loadState } from '../../../src/daemon/state/json-store.js';
import { openPgStateStore } from '../../../src/daemon/state/pg/pg-store.js';
import { serviceConfig } from '../../helpers/configs.js';
import { startTestPostgres, type TestPostgres } from '../../helpers/postgres.js';

const ADMIN_TOKEN = 'config-admin-token-0123456789';
const HOME = { user: 'root', token: ADMIN_TOKEN, projects: [{ name: 'main', tokens: [], backends: [] }] };

let cluster: TestPostgres | undefined;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => cluster?.stop());

interface Fixture {
  store: StateStore;
  call: <T = any>(token: string | undefined, method: string, path: string, body?: unknown) => Promise<{ status: number; body: T }>;
  reopen: () => Promise<StateStore>;
}

async function serve(store: StateStore, now = { t: 1000 }): Promise<Fixture['call']> {
  const api = createAccountsApi({ store, saved: () => store.flush(), clock: () => now.t++, defaultProject: () => 'main' });
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const principal = resolvePrincipal(bearer(req), store.users());
    if (!principal) return sendJson(res, 401, { code: 'UNAUTHORIZED', message: 'no' });
    void api({ req, res, method: req.method ?? 'GET', path, principal })
      .then((handled) => handled || sendJson(res, 404, { code: 'NOT_ROUTED', message: path }))
      .catch((e: unknown) => sendJson(res, 500, { code: 'THROWN', message: String(e) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return async (token, method, path, body) => {
    const res = await request(`${base}${path}`, {
      method: method as 'GET',
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
  };
}

const stores: Record<string, () => Promise<Fixture>> = {
  json: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'accounts-api-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'state.json');
    const store = createJsonStateStore(file, emptyState());
    ensureAccounts(store, HOME, () => 1);
    return { store, call: await serve(store), reopen: async () => createJsonStateStore(file, await loadState(file)) };
  },
  postgres: async () => {
    cluster ??= await startTestPostgres();
    const url = await cluster.createDatabase();
    const store = await openPgStateStore(url, { log: () => {} });
    cleanups.push(() => store.close().catch(() => undefined));
    ensureAccounts(store, HOME, () => 1);
    return {
      store,
      call: await serve(store),
      reopen: async () => {
        await store.flush();
        const again = await openPgStateStore(url, { log: () => {} });
        cleanups.push(() => again.close());
        return again;
      },
    };
  },
};

const run = (name: string, project: string, status: RunRecord['status']): RunRecord =>
  RunRecord.parse({
    id: `${project}-${name}`, name, project, user: 'root', configRaw: { type: 'service' }, config: serviceConfig(),
    settings: { replicas: { min: 1, max: 1 }, autoscaling: false, probes: [], tcpCheck: true, stopDurationSeconds: 1,
      creationPolicy: 'reuse-or-create', auth: true, stripPrefix: true, rateLimits: [] },
    specTemplate: { runName: name, image: 'img', port: 8000 }, status, submittedAt: 1, deployment: 0, desiredReplicas: 1, replicas: [],
  });

describe.each(Object.keys(stores))('accounts API on the %s store', (kind) => {
  let f: Fixture;

  it('the config admin creates users whose token is answered once and stored only hashed', async () => {
    f = await stores[kind]!();
    expect((await f.call(ADMIN_TOKEN, 'GET', '/api/me')).body).toEqual({ user: 'root', globalRole: 'admin' });
    const created = await f.call(ADMIN_TOKEN, 'POST', '/api/users', { name: 'alice' });
    expect(created.status).toBe(200);
    expect(created.body.user).toEqual({ name: 'alice', globalRole: 'user', createdAt: expect.any(Number) });
    const token: string = created.body.token;
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(f.store.user('alice')?.tokenHash).toBe(tokenHash(token));
    expect((await f.call(token, 'GET', '/api/me')).body).toEqual({ user: 'alice', globalRole: 'user' });

    // Listed without tokens or hashes; the token is nowhere in what the store keeps.
    const listed = await f.call(ADMIN_TOKEN, 'GET', '/api/users');
    expect(listed.body.users.map((u: { name: string }) => u.name)).toEqual(['root', 'alice']);
    expect(JSON.stringify(listed.body)).not.toContain(tokenHash(token));
    const reopened = await f.reopen();
    expect(reopened.user('alice')).toEqual(f.store.user('alice'));
    expect(JSON.stringify([reopened.users(), reopened.projects()])).not.toContain(token);

    expect((await f.call(ADMIN_TOKEN, 'POST', '/api/users', { name: 'alice' })).body.code).toBe('ALREADY_EXISTS');
    expect((await f.call(ADMIN_TOKEN, 'POST', '/api/users', { name: 'alice' })).status).toBe(409);
    const bad = await f.call(ADMIN_TOKEN, 'POST', '/api/users', { name: 'Bad Name' });
    expect([bad.status, bad.body.code]).toEqual([400, 'INVALID_USER_NAME']);
    const role = await f.call(ADMIN_TOKEN, 'POST', '/api/users', { name: 'x', globalRole: 'owner' });
    expect([role.status, role.body.code]).toEqual([400, 'INVALID_REQUEST']);
    const admin = await f.call(ADMIN_TOKEN, 'POST', '/api/users', { name: 'boss', globalRole: 'admin' });
    expect(admin.body.user.globalRole).toBe('admin');

    // Only global admins manage users; nobody deletes themselves.
    for (const [method, path, body] of [['GET', '/api/users'], ['POST', '/api/users', { name: 'eve' }], ['DELETE', '/api/users/boss']] as const) {
      const r = await f.call(token, method, path, body);
      expect([r.status, r.body.code], `${method} ${path}`).toEqual([403, 'FORBIDDEN']);
    }
    expect((await f.call(ADMIN_TOKEN, 'DELETE', '/api/users/root')).body.code).toBe('CANNOT_DELETE_SELF');
    expect((await f.call(ADMIN_TOKEN, 'DELETE', '/api/users/nobody')).status).toBe(404);
    expect((await f.call(admin.body.token, 'DELETE', '/api/users/alice')).body).toEqual(created.body.user);
    expect((await f.call(token, 'GET', '/api/me')).status).toBe(401);
  });

  it('projects: any user creates one and is its admin; members see it as their role allows; the last admin stays', async () => {
    f = await stores[kind]!();
    const mk = async (name: string) => (await f.call(ADMIN_TOKEN, 'POST', '/api/users', { name })).body.token as string;
    const [alice, bob, carol] = [await mk('alice'), await mk('bob'), await mk('carol')];

    const created = await f.call(alice, 'POST', '/api/projects', { name: 'team' });
    expect(created.body).toMatchObject({ name: 'team', createdBy: 'alice', members: [{ user: 'alice', role: 'admin' }], role: 'admin' });
    expect((await f.call(bob, 'POST', '/api/projects', { name: 'team' })).status).toBe(409);
    expect((await f.call(bob, 'POST', '/api/projects', { name: '../x' })).body.code).toBe('INVALID_PROJECT_NAME');

    // Listing: a user sees their projects; the global admin sees all, as admin.
    const names = async (t: string) => (await f.call(t, 'GET', '/api/projects')).body.projects.map((p: { name: string; role: string }) => `${p.name}:${p.role}`);
    expect(await names(alice)).toEqual(['team:admin']);
    expect(await names(bob)).toEqual([]);
    expect(await names(ADMIN_TOKEN)).toEqual(['main:admin', 'team:admin']);
    expect([(await f.call(bob, 'GET', '/api/projects/team')).status, (await f.call(bob, 'GET', '/api/projects/nope')).status]).toEqual([403, 404]);
    expect((await f.call(bob, 'GET', '/api/projects/team/members')).body.code).toBe('FORBIDDEN');

    // Members: a user may read, not manage; a manager manages users and managers, not admins.
    expect((await f.call(alice, 'POST', '/api/projects/team/members', { user: 'bob', role: 'user' })).body.members).toHaveLength(2);
    expect((await f.call(alice, 'POST', '/api/projects/team/members', { user: 'ghost', role: 'user' })).body.code).toBe('USER_NOT_FOUND');
    expect((await f.call(alice, 'POST', '/api/projects/team/members', { user: 'bob', role: 'owner' })).body.code).toBe('INVALID_REQUEST');
    expect((await f.call(bob, 'GET', '/api/projects/team')).body.role).toBe('user');
    expect((await f.call(bob, 'POST', '/api/projects/team/members', { user: 'carol', role: 'user' })).status).toBe(403);
    await f.call(alice, 'POST', '/api/projects/team/members', { user: 'bob', role: 'manager' });
    expect((await f.call(bob, 'POST', '/api/projects/team/members', { user: 'carol', role: 'user' })).status).toBe(200);
    expect((await f.call(bob, 'POST', '/api/projects/team/members', { user: 'carol', role: 'admin' })).status).toBe(403);
    expect((await f.call(bob, 'DELETE', '/api/projects/team/members/alice')).status).toBe(403);
    expect((await f.call(bob, 'DELETE', '/api/projects/team')).status).toBe(403);
    expect((await f.call(bob, 'DELETE', '/api/projects/team/members/carol')).body.members.map((m: { user: string }) => m.user)).toEqual(['alice', 'bob']);
    expect((await f.call(bob, 'DELETE', '/api/projects/team/members/carol')).body.code).toBe('MEMBER_NOT_FOUND');
    expect((await f.call(carol, 'GET', '/api/projects/team')).status).toBe(403);

    // The last admin is neither removed, demoted, nor deleted as a user.
    const last = await f.call(alice, 'DELETE', '/api/projects/team/members/alice');
    expect([last.status, last.body.code]).toEqual([409, 'LAST_ADMIN']);
    expect((await f.call(alice, 'POST', '/api/projects/team/members', { user: 'alice', role: 'user' })).body.code).toBe('LAST_ADMIN');
    const gone = await f.call(ADMIN_TOKEN, 'DELETE', '/api/users/alice');
    expect([gone.status, gone.body.code, gone.body.message]).toEqual([409, 'LAST_ADMIN', expect.stringContaining('team')]);
    // Deleting a user takes them out of their projects.
    expect((await f.call(ADMIN_TOKEN, 'DELETE', '/api/users/bob')).status).toBe(200);
    expect((await f.reopen()).project('team')?.members).toEqual([{ user: 'alice', role: 'admin' }]);
  });

  it('a project with active runs or fleets, or the default project, is not deleted; a finished one is', async () => {
    f = await stores[kind]!();
    const alice = (await f.call(ADMIN_TOKEN, 'POST', '/api/users', { name: 'alice' })).body.token as string;
    await f.call(alice, 'POST', '/api/projects', { name: 'team' });
    f.store.putRun(run('svc', 'team', 'running'));
    f.store.putRun(run('old', 'team', 'terminated'));
    f.store.putRun(run('other', 'main', 'running'));
    f.store.putFleet(FleetRecord.parse({ name: 'gpus', project: 'team', status: 'active', createdAt: 1, configRaw: {} }));
    const busy = await f.call(alice, 'DELETE', '/api/projects/team');
    expect([busy.status, busy.body.code, busy.body.message]).toEqual([409, 'PROJECT_IN_USE', 'project team still has active runs svc and fleets gpus']);
    f.store.updateRun('team-svc', (r) => ({ ...r, status: 'done' }));
    f.store.updateFleet('team', 'gpus', (x) => ({ ...x, status: 'terminated' }));
    expect((await f.call(alice, 'DELETE', '/api/projects/team')).body.name).toBe('team');
    expect((await f.reopen()).project('team')).toBeUndefined();
    expect((await f.call(ADMIN_TOKEN, 'DELETE', '/api/projects/main')).body.code).toBe('PROJECT_IN_USE');
  });

  it("takes a deleted project's finished runs and fleets along, and remembers a deleted config.yml project across a reopen", async () => {
    f = await stores[kind]!();
    const home = { ...HOME, projects: [...HOME.projects, { name: 'team', tokens: [], backends: [] }] };
    const config = { user: 'root', projects: ['main', 'team'] };
    const root = { user: 'root', globalRole: 'admin' as const };
    expect(ensureAccounts(f.store, home, () => 2).projects).toEqual(['team']);
    f.store.putRun(run('old', 'team', 'terminated'));
    f.store.putRun(run('kept', 'main', 'terminated'));
    f.store.putFleet(FleetRecord.parse({ name: 'gpus', project: 'team', status: 'terminated', createdAt: 1, configRaw: {} }));
    deleteProject(f.store, root, 'team', { defaultProject: 'main', config });
    await f.store.flush();
    let again = await f.reopen();
    expect(again.runs().map((r) => r.id)).toEqual(['main-kept']);
    expect(again.fleets()).toEqual([]);
    expect(again.user('root')?.deletedConfigProjects).toEqual(['team']);
    // The next start: the token still follows config.yml, the deleted project is not made again.
    expect(ensureAccounts(again, { ...home, token: 'a-new-config-token-0123' }, () => 3)).toEqual({ user: 'updated', projects: [] });
    expect(again.project('team')).toBeUndefined();
    expect(again.user('root')?.tokenHash).toBe(tokenHash('a-new-config-token-0123'));
    // Made again through the API: remembered no more, so it is there at every start after.
    createProject(again, () => 4, root, 'team');
    await again.flush();
    again = await f.reopen();
    expect(again.user('root')?.deletedConfigProjects).toBeUndefined();
    expect(ensureAccounts(again, home, () => 5).projects).toEqual([]);
    expect(again.project('team')?.createdAt).toBe(4);
    // That start wrote config.yml's token back: written before the directory goes.
    await again.flush();
  });

  it('answers false for paths that are not its own, and 405 for a wrong method on its own', async () => {
    f = await stores[kind]!();
    expect((await f.call(ADMIN_TOKEN, 'GET', '/api/projects/main/runs')).body.code).toBe('NOT_ROUTED');
    expect((await f.call(ADMIN_TOKEN, 'GET', '/api/runs')).body.code).toBe('NOT_ROUTED');
    expect((await f.call(ADMIN_TOKEN, 'PUT', '/api/users')).status).toBe(405);
    expect((await f.call(ADMIN_TOKEN, 'GET', '/api/projects/%E0%A4%A')).body.code).toBe('INVALID_REQUEST');
  });
});

describe('ensureAccounts', () => {
  it('makes the config user a global admin of every config project, follows a changed token, and leaves the rest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'accounts-boot-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'state.json');
    const store = createJsonStateStore(file, emptyState());
    const home = { ...HOME, projects: [...HOME.projects, { name: 'team', tokens: [], backends: [] }] };
    expect(ensureAccounts(store, home, () => 7)).toEqual({ user: 'created', projects: ['main', 'team'] });
    expect(store.user('root')).toEqual({ name: 'root', globalRole: 'admin', tokenHash: tokenHash(ADMIN_TOKEN), createdAt: 7 });
    expect(store.project('team')).toEqual({ name: 'team', createdAt: 7, createdBy: 'root', members: [{ user: 'root', role: 'admin' }] });
    expect(ensureAccounts(store, home, () => 8)).toEqual({ user: 'unchanged', projects: [] });

    store.updateProject('team', (p) => ({ ...p, members: [...p.members, { user: 'alice', role: 'user' }] }));
    expect(ensureAccounts(store, { ...home, token: 'a-new-config-token-0123' }, () => 9)).toEqual({ user: 'updated', projects: [] });
    expect(store.user('root')).toMatchObject({ tokenHash: tokenHash('a-new-config-token-0123'), createdAt: 7 });
    expect(store.project('team')?.members).toHaveLength(2);
    await store.flush();
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain(ADMIN_TOKEN);
    expect(text).not.toContain('a-new-config-token-0123');
  });
});
