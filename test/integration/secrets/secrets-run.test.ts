/**
 * A run using secrets on a real daemon, agent and test dockerd, with its image in a local registry that demands
 * Basic auth: the `registry_auth` password and an `env` value come from project secrets and a third env value from
 * the caller. The registry sees the resolved credentials, the container gets every value (its web server shows
 * them in files the test fetches), and no view, log or state file holds a secret.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '../../../src/core/api.js';
import { DaemonClient } from '../../../src/core/client/daemon-client.js';
import { Transport } from '../../../src/core/client/transport.js';
import { startTestRegistry, type TestRegistry } from '../agent/registry.js';
import { buildAgent, docker, isReady, removeContainersOf, removeDir, requireDocker, startTestDaemon, tempDir, waitFor, type TestDaemon } from '../daemon/harness.js';

const APP_TOKEN = `app-${randomUUID()}`;
const NEW_APP_TOKEN = `app2-${randomUUID()}`;
const REG_PW = `reg-${randomUUID()}`;
const CALLER = `caller-${randomUUID()}`;
const run = `secret-run-${process.pid}`;
const repo = `team/secret-${randomUUID().slice(0, 8)}`;

let dir: string;
let t: TestDaemon;
let registry: TestRegistry;
let client: DaemonClient;

const config = (host: string) => ({
  type: 'service',
  name: run,
  image: `${host}/${repo}:v1`,
  registry_auth: { username: 'deploy', password: '${{ secrets.reg_pw }}' },
  env: { APP_TOKEN: '${{ secrets.app_token }}', CALLER_TOKEN: CALLER },
  // The image is busybox as /bin/sh, which runs its applets (mkdir, httpd) by name.
  commands: ['mkdir -p /www', 'echo "$APP_TOKEN" > /www/token', 'echo "$CALLER_TOKEN" > /www/caller', 'exec httpd -f -p 8000 -h /www'],
  port: 8000,
  auth: false,
  stop_duration: 1,
});
const request = (host: string, force = false) => ({ config: config(host), secretPaths: [['env', 'CALLER_TOKEN']], force });

beforeAll(async () => {
  await requireDocker([]);
  dir = await tempDir('dstack-secret-run-');
  t = await startTestDaemon(await buildAgent(dir), {}, join(dir, 'home'));
  registry = await startTestRegistry({ repo, credentials: { username: 'deploy', password: REG_PW } });
  client = new DaemonClient(new Transport({ origin: t.daemon.url, token: t.token }), { version: 'test', pid: process.pid, uptimeSeconds: 0, home: t.home });
});
afterAll(async () => {
  await client?.close();
  await t?.close();
  await removeContainersOf(run);
  await docker().getImage(`${registry?.host}/${repo}:v1`).remove({ force: true }).catch(() => undefined);
  await registry?.close();
  await removeDir(dir);
});

const file = async (name: string) => (await t.api.service('main', run, `/${name}`)).text.trim();

describe('a run with secrets in env and registry_auth', () => {
  it('is refused while a secret it uses is not set', async () => {
    await client.setSecret('app_token', APP_TOKEN);
    await expect(client.plan(request(registry.host))).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND', message: 'Secret `reg_pw` is not set (used in `registry_auth.password`)' });
  });

  it('pulls with the resolved credentials and the container gets every value', async () => {
    await client.setSecret('reg_pw', REG_PW);
    const applied = await client.apply(request(registry.host));
    await waitFor(`${run} ready`, async () => isReady(await t.api.run(run)), 120_000);
    const basic = `Basic ${Buffer.from(`deploy:${REG_PW}`).toString('base64')}`;
    expect(registry.requests.some((r) => r.url.includes('/manifests/') && r.authorization === basic)).toBe(true);
    expect([await file('token'), await file('caller')]).toEqual([APP_TOKEN, CALLER]);
    expect(applied.config).toMatchObject({ env: { APP_TOKEN: '${{ secrets.app_token }}', CALLER_TOKEN: '***' }, registry_auth: { password: '${{ secrets.reg_pw }}' } });
  });

  it('no view, log or state file holds a secret; state keeps references', async () => {
    const views = JSON.stringify([await client.listRuns(true), await client.getRun(run), await client.plan(request(registry.host)), await client.listSecrets()]);
    for (const v of [APP_TOKEN, REG_PW, CALLER]) expect(views).not.toContain(v);
    const log = await readFile(join(t.home, 'server', 'logs', 'daemon.log'), 'utf8');
    for (const v of [APP_TOKEN, REG_PW, CALLER]) expect(log).not.toContain(v);
    const state = await readFile(join(t.home, 'server', 'state.json'), 'utf8');
    expect(state).toContain('${{ secrets.app_token }}');
    for (const v of [APP_TOKEN, REG_PW]) expect(state).not.toContain(v);
  });

  it('a changed secret is no change to re-apply; a forced apply rolls out replicas with the new value', async () => {
    await client.setSecret('app_token', NEW_APP_TOKEN);
    expect((await client.plan(request(registry.host))).action).toBe('none');
    const before = (await client.getRun(run)).deployment;
    await client.apply(request(registry.host, true));
    const rolled = (v: RunView) => v.deployment > before && v.replicas.some((r) => r.deployment > before && r.ready && r.status === 'running');
    await waitFor('the new deployment', async () => rolled(await client.getRun(run)), 120_000);
    await waitFor('the new value served', async () => (await file('token')) === NEW_APP_TOKEN);
    expect(JSON.stringify(await client.getRun(run))).not.toContain(NEW_APP_TOKEN);
  });
});
