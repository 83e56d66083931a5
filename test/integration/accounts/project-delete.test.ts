/**
 * Deleting a project (issue 17) in a real daemon: refused while it has an active run (the error names it, nothing
 * changes), and otherwise it takes its secrets and finished runs with it, so a project made again under the name
 * starts empty. A config.yml project deleted through the API stays deleted across restarts (start-up does not make
 * it again), while config.yml's token still becomes the admin's at start; making it again through the API brings it
 * back for good. Replicas run on the local machine (the process runtime: no Docker needed).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { RunView } from '../../../src/core/api.js';
import { stopLocalAgent } from '../../../src/backends/local/agent-process.js';
import { runDaemon, type Daemon } from '../../../src/daemon/main.js';
import { freePort } from '../../helpers/net.js';
import { stateDatabaseEnv } from '../../helpers/state-db.js';
import { Api, ROOT, buildAgent, isReady, removeDir, tempDir, waitFor } from '../daemon/harness.js';

const open: Daemon[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
  for (const d of dirs) await stopLocalAgent(join(d, 'home', 'server', 'local-agent'));
  for (const d of dirs.splice(0)) await removeDir(d);
});

async function setup(prefix: string) {
  const dir = await tempDir(prefix);
  dirs.push(dir);
  const home = join(dir, 'home');
  const agent = await buildAgent(dir);
  // The CI PostgreSQL pass runs this on a database of its own; otherwise state.json.
  const env = { ...process.env, DSTACK_DATABASE_URL: '', DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}`, DSTACK_AGENT_BIN: agent, ...(await stateDatabaseEnv()) };
  const start = async (): Promise<Daemon> => {
    const d = await runDaemon({ home, port: 0, env, exitOnCompromise: false, tickMs: 250 });
    open.push(d);
    return d;
  };
  const restart = async (): Promise<Daemon> => {
    await open.pop()?.close();
    return start();
  };
  const config = async (): Promise<Record<string, unknown>> => parse(await readFile(join(home, 'config.yml'), 'utf8')) as Record<string, unknown>;
  const editConfig = async (fn: (c: Record<string, unknown>) => void): Promise<void> => {
    const c = await config();
    fn(c);
    await writeFile(join(home, 'config.yml'), stringify(c));
  };
  return { home, start, restart, config, editConfig };
}

const ok = <T>(r: { status: number; body: T }): T => {
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
};

describe('project delete', () => {
  it('refuses while a run is active, then takes the secrets and finished runs along, so the name starts over empty', async () => {
    const t = await setup('dstack-project-delete-');
    const d = await t.start();
    const admin = new Api(d.url, String((await t.config()).token));
    const alice = new Api(d.url, ok(await admin.call<{ token: string }>('POST', '/api/users', { name: 'alice' })).token);
    ok(await alice.call('POST', '/api/projects', { name: 'pa' }));
    ok(await alice.call('PUT', '/api/projects/pa/secrets/hf_token', { value: 'secret-value-1' }));
    const port = await freePort();
    const run = `pd-${process.pid}`;
    ok(
      await alice.call<RunView>('POST', '/api/projects/pa/runs/apply', {
        config: { type: 'service', name: run, commands: [`node ${join(ROOT, 'test/fixtures/servers/http-echo.mjs')}`], env: { PORT: String(port) }, port, stop_duration: 1 },
      }),
    );
    await waitFor('the replica to be ready', async () => isReady(ok(await alice.call<RunView>('GET', `/api/projects/pa/runs/${run}`))), 120_000);

    const refused = await alice.call<{ code: string; message: string }>('DELETE', '/api/projects/pa');
    expect([refused.status, refused.body.code]).toEqual([409, 'PROJECT_IN_USE']);
    expect(refused.body.message).toContain(`runs ${run}`);
    // Nothing changed: the project, its secret and its run are all there.
    expect(ok(await alice.call<{ name: string }>('GET', '/api/projects/pa')).name).toBe('pa');
    expect(ok(await alice.call<{ secrets: Array<{ name: string }> }>('GET', '/api/projects/pa/secrets')).secrets.map((s) => s.name)).toEqual(['hf_token']);
    expect(ok(await alice.call<RunView>('GET', `/api/projects/pa/runs/${run}`)).status).toBe('running');

    ok(await alice.call('POST', `/api/projects/pa/runs/${run}/stop`, { abort: true }));
    await waitFor('the run to finish', async () => ['terminated', 'failed', 'done'].includes(ok(await alice.call<RunView>('GET', `/api/projects/pa/runs/${run}`)).status), 120_000);
    expect(ok(await alice.call<{ runs: RunView[] }>('GET', '/api/projects/pa/runs?all=1')).runs.map((r) => r.name)).toEqual([run]);

    ok(await alice.call('DELETE', '/api/projects/pa'));
    expect((await alice.call('GET', '/api/projects/pa')).status).toBe(404);
    ok(await alice.call('POST', '/api/projects', { name: 'pa' }));
    expect(ok(await alice.call<{ secrets: unknown[] }>('GET', '/api/projects/pa/secrets')).secrets).toEqual([]);
    expect(ok(await alice.call<{ runs: unknown[] }>('GET', '/api/projects/pa/runs?all=1')).runs).toEqual([]);
    expect((await alice.call('GET', '/api/projects/pa/secrets/hf_token')).status).toBe(404);

    // And so after a restart: nothing of the old project was left in state or in the secrets store.
    const again = await t.restart();
    const alice2 = new Api(again.url, alice.token);
    expect(ok(await alice2.call<{ secrets: unknown[] }>('GET', '/api/projects/pa/secrets')).secrets).toEqual([]);
    expect(ok(await alice2.call<{ runs: unknown[] }>('GET', '/api/projects/pa/runs?all=1')).runs).toEqual([]);
  }, 300_000);

  it('keeps a config.yml project deleted through the API deleted across restarts, and config.yml token changes still apply', async () => {
    const t = await setup('dstack-project-tombstone-');
    await t.start();
    await t.editConfig((c) => {
      (c.projects as unknown[]).push({ name: 'team', tokens: ['team-legacy-token-0123456789'], backends: [] });
    });
    let d = await t.restart();
    let admin = new Api(d.url, String((await t.config()).token));
    const names = async () => ok(await admin.call<{ projects: Array<{ name: string }> }>('GET', '/api/projects')).projects.map((p) => p.name);
    expect(await names()).toEqual(['main', 'team']);
    ok(await admin.call('PUT', '/api/projects/team/secrets/db_password', { value: 'secret-value-2' }));

    ok(await admin.call('DELETE', '/api/projects/team'));
    // Gone at once, though config.yml still names it: its scope and its legacy token with it.
    expect(await names()).toEqual(['main']);
    expect((await admin.call('GET', '/api/projects/team/runs')).status).toBe(404);
    expect((await admin.call('GET', '/proxy/models/team/v1/models', undefined, 'team-legacy-token-0123456789')).status).toBe(401);

    const newToken = 'a-fresh-config-token-after-delete-0123';
    const oldToken = admin.token;
    await t.editConfig((c) => {
      c.token = newToken;
    });
    d = await t.restart();
    admin = new Api(d.url, newToken);
    expect(ok(await admin.call<{ user: string }>('GET', '/api/me')).user).toBe((await t.config()).user);
    expect((await admin.call('GET', '/api/me', undefined, oldToken)).status).toBe(401);
    expect(await names()).toEqual(['main']);
    expect((await admin.call('GET', '/api/projects/team/runs')).status).toBe(404);

    // Made again through the API: it exists from now on, across restarts, and starts without the old secret.
    ok(await admin.call('POST', '/api/projects', { name: 'team' }));
    expect(ok(await admin.call<{ secrets: unknown[] }>('GET', '/api/projects/team/secrets')).secrets).toEqual([]);
    d = await t.restart();
    admin = new Api(d.url, newToken);
    expect(await names()).toEqual(['main', 'team']);
    expect(ok(await admin.call<{ runs: unknown[] }>('GET', '/api/projects/team/runs')).runs).toEqual([]);
  }, 120_000);
});
