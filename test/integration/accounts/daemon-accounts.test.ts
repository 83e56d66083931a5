/**
 * Users and projects in a real daemon (runDaemon): config.yml's user becomes a global admin with the config token
 * when the state opens, users made through the API keep their tokens across restarts, a token changed in
 * config.yml replaces the old one, and a created token reaches neither the daemon log nor the state.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stopLocalAgent } from '../../../src/backends/local/agent-process.js';
import { runDaemon, type Daemon } from '../../../src/daemon/main.js';
import { Api, removeDir, tempDir } from '../daemon/harness.js';
import { stateDatabaseEnv } from '../../helpers/state-db.js';

const open: Daemon[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
  for (const d of dirs) await stopLocalAgent(join(d, 'server', 'local-agent'));
  for (const d of dirs.splice(0)) await removeDir(d);
});

async function start(home: string, env: Record<string, string>): Promise<Daemon> {
  const d = await runDaemon({ home, port: 0, exitOnCompromise: false, env: { ...process.env, DSTACK_AGENT_BIN: '/nonexistent', ...env } });
  open.push(d);
  return d;
}

async function restart(home: string, env: Record<string, string>): Promise<Daemon> {
  await open.pop()?.close();
  return start(home, env);
}

const configOf = (home: string) => readFile(join(home, 'config.yml'), 'utf8');
const tokenOf = async (home: string) => /^token:\s*(\S+)/m.exec(await configOf(home))?.[1] ?? '';
const userOf = async (home: string) => /^user:\s*(\S+)/m.exec(await configOf(home))?.[1] ?? '';

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('accounts in the daemon', () => {
  it('bootstraps the config admin, keeps API users across restarts, follows a new config token, and never stores or logs a token', async () => {
    const home = await tempDir('dstack-accounts-');
    dirs.push(home);
    // The CI PostgreSQL pass runs this on a database of its own; otherwise state.json.
    const env = { DSTACK_DATABASE_URL: '', ...(await stateDatabaseEnv()) };
    let d = await start(home, env);
    const admin = new Api(d.url, await tokenOf(home));
    const root = await userOf(home);
    expect((await admin.call('GET', '/api/me')).body).toEqual({ user: root, globalRole: 'admin' });
    expect((await admin.call<{ projects: Array<{ name: string; members: unknown }> }>('GET', '/api/projects')).body.projects).toEqual([
      expect.objectContaining({ name: 'main', createdBy: root, members: [{ user: root, role: 'admin' }], role: 'admin' }),
    ]);

    const created = await admin.call<{ token: string }>('POST', '/api/users', { name: 'alice' });
    expect(created.status).toBe(200);
    const alice = created.body.token;
    expect((await new Api(d.url, alice).call('GET', '/api/me')).body).toEqual({ user: 'alice', globalRole: 'user' });
    expect((await new Api(d.url, `${alice}x`).call('GET', '/api/me')).status).toBe(401);

    d = await restart(home, env);
    expect((await new Api(d.url, alice).call('GET', '/api/me')).body).toEqual({ user: 'alice', globalRole: 'user' });
    const users = await new Api(d.url, await tokenOf(home)).call<{ users: Array<{ name: string }> }>('GET', '/api/users');
    expect(users.body.users.map((u) => u.name)).toEqual([root, 'alice']);

    // A token changed in config.yml is the admin's from the next start; the old one no longer works.
    const oldToken = await tokenOf(home);
    const newToken = 'a-fresh-config-token-0123456789';
    await writeFile(join(home, 'config.yml'), (await configOf(home)).replace(oldToken, newToken));
    d = await restart(home, env);
    expect((await new Api(d.url, newToken).call('GET', '/api/me')).body).toEqual({ user: root, globalRole: 'admin' });
    expect((await new Api(d.url, oldToken).call('GET', '/api/users')).status).toBe(401);

    await open.pop()?.close();
    const files = await filesUnder(home);
    expect(files).toContain(join(home, 'server', 'logs', 'daemon.log'));
    for (const file of files) {
      const text = await readFile(file, 'utf8').catch(() => '');
      expect(text, file).not.toContain(alice);
    }
  });
});
