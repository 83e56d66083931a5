import { randomUUID } from 'node:crypto';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateDockerd, PRIVATE_IMAGE, type PrivateDockerd } from './private-dockerd.js';
import { startTestRegistry, type TestRegistry } from './registry.js';
import { requireTestDocker, startTestAgent, type TestAgent } from './helpers.js';

let docker: Docker;
let t: TestAgent;
let open: TestRegistry;
let locked: TestRegistry;
const repo = `team/app-${randomUUID().slice(0, 8)}`;
const credentials = { username: 'deploy', password: 'secret-pw' };

beforeAll(async () => {
  docker = await requireTestDocker();
  t = await startTestAgent();
  open = await startTestRegistry({ repo });
  locked = await startTestRegistry({ repo, credentials });
});
afterAll(async () => {
  await t?.close();
  for (const r of [open, locked]) {
    await docker?.getImage(`${r?.host}/${repo}:v1`).remove({ force: true }).catch(() => undefined);
    await r?.close();
  }
});

describe('invalid specs', () => {
  it('answers 400 naming the field', async () => {
    const bad = await t.client.call('POST', '/api/replicas', { id: 'x1', runName: 'r', replicaNum: 0, image: 'a', port: 'eighty' });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('INVALID_SPEC');
    expect(bad.body.message).toMatch(/\bport\b/);
    const unknown = await t.client.call('POST', '/api/replicas', { ...t.spec({}), imagee: 'typo' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toContain('imagee');
    const many = await t.client.call('POST', '/api/replicas', { id: '-bad id', runName: '', replicaNum: -1, port: 0 });
    for (const field of ['id', 'runName', 'replicaNum', 'port']) expect(many.body.message).toContain(field);
    const json = await t.client.call('POST', '/api/replicas', '{not json');
    expect(json).toMatchObject({ status: 400, body: { code: 'INVALID_JSON' } });
    const timeout = await t.client.call('DELETE', '/api/replicas/x1?timeout=soon');
    expect(timeout).toMatchObject({ status: 400, body: { code: 'INVALID_QUERY' } });
    expect(timeout.body.message).toContain('timeout');
  });

  it('refuses a second, different spec under a live id with 409', async () => {
    const spec = t.spec({ commands: ['sleep 30'] });
    expect((await t.client.call('POST', '/api/replicas', spec)).status).toBe(201);
    const clash = await t.client.call('POST', '/api/replicas', { ...spec, commands: ['sleep 31'] });
    expect(clash).toMatchObject({ status: 409, body: { code: 'REPLICA_EXISTS' } });
    await t.client.call('DELETE', `/api/replicas/${spec.id}?timeout=0`);
  });
});

describe('images and registries', () => {
  it('pulls from a registry with registry_auth, reporting layer and byte progress', async () => {
    const spec = t.spec({ image: `${locked.host}/${repo}:v1`, registryAuth: credentials, commands: ['read line < /hello.txt; echo "got: $line"'] });
    await t.client.call('POST', '/api/replicas', spec);
    const state = await t.client.waitTerminal(spec.id);
    expect(state).toMatchObject({ phase: 'exited', exitCode: 0 });
    expect(state.pull).toMatchObject({ layersTotal: 1, layersDone: 1 });
    expect(state.pull!.bytesTotal).toBeGreaterThan(500_000);
    expect(state.pull!.bytesDone).toBe(state.pull!.bytesTotal);
    expect((await t.client.logs(spec.id)).toString()).toContain('got: hello from the test registry');
    const basic = `Basic ${Buffer.from('deploy:secret-pw').toString('base64')}`;
    expect(locked.requests.some((r) => r.authorization === basic)).toBe(true);
  });

  it('fails a replica whose image does not exist with IMAGE_NOT_FOUND, not stuck in pulling', async () => {
    const spec = t.spec({ image: `${open.host}/team/does-not-exist:v1`, commands: ['true'] });
    await t.client.call('POST', '/api/replicas', spec);
    const state = await t.client.waitTerminal(spec.id);
    expect(state).toMatchObject({ phase: 'failed', reason: 'IMAGE_NOT_FOUND' });
    expect(state.message).toContain('does-not-exist');
  });

  it('fails with PULL_DENIED for missing or wrong credentials, without echoing the password', async () => {
    for (const registryAuth of [undefined, { username: 'deploy', password: 'wrong-pw' }]) {
      const spec = t.spec({ image: `${locked.host}/${repo}:v2`, commands: ['true'], ...(registryAuth ? { registryAuth } : {}) });
      await t.client.call('POST', '/api/replicas', spec);
      const state = await t.client.waitTerminal(spec.id);
      expect(state).toMatchObject({ phase: 'failed', reason: 'PULL_DENIED' });
      expect(JSON.stringify(state)).not.toContain('wrong-pw');
    }
  });

  it('fails with PULL_FAILED when no registry answers', async () => {
    const spec = t.spec({ image: '127.0.0.1:1/nothing/here:v1', commands: ['true'] });
    await t.client.call('POST', '/api/replicas', spec);
    expect(await t.client.waitTerminal(spec.id)).toMatchObject({ phase: 'failed', reason: 'PULL_FAILED' });
  });
});

describe('container start failures', () => {
  it('fails an unknown user with UNKNOWN_USER and leaves no container behind', async () => {
    const spec = t.spec({ user: 'no-such-user', commands: ['true'] });
    await t.client.call('POST', '/api/replicas', spec);
    const state = await t.client.waitTerminal(spec.id);
    expect(state).toMatchObject({ phase: 'failed', reason: 'UNKNOWN_USER' });
    await expect(docker.getContainer(spec.id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('reports a missing entrypoint executable as exit 127 with the init process\'s message', async () => {
    // docker-init (PID 1, for graceful stops) execs the entrypoint, so a missing binary is its exit 127, as in a shell.
    const spec = t.spec({ entrypoint: '/no/such/binary' });
    await t.client.call('POST', '/api/replicas', spec);
    const state = await t.client.waitTerminal(spec.id);
    expect(state).toMatchObject({ phase: 'exited', reason: 'CONTAINER_EXITED', exitCode: 127 });
    expect(state.message).toContain('/no/such/binary');
  });

  it('reports a container removed behind its back as failed', async () => {
    const spec = t.spec({ commands: ['sleep 60'] });
    await t.client.call('POST', '/api/replicas', spec);
    await t.client.waitFor(spec.id, (s) => s.phase === 'running');
    await docker.getContainer(spec.id).remove({ force: true });
    expect(await t.client.waitTerminal(spec.id)).toMatchObject({ phase: 'exited', reason: 'CONTAINER_EXITED', exitCode: 137 });
  });
});

describe('Docker down and back', () => {
  let engine: PrivateDockerd;
  let agent: TestAgent;
  beforeAll(async () => {
    engine = await privateDockerd();
    agent = await startTestAgent({ dockerHost: engine.dockerHost });
  });
  afterAll(async () => {
    await agent?.close();
    await engine?.dispose();
  });

  it('says so in health, answers DOCKER_UNAVAILABLE to starts, and recovers without a restart', async () => {
    const health = async () => (await agent.client.call('GET', '/api/health')).body;
    expect((await health()).docker.available).toBe(true);
    const before = agent.spec({ image: PRIVATE_IMAGE, commands: ['sleep 600'] });
    await agent.client.call('POST', '/api/replicas', before);
    await agent.client.waitFor(before.id, (s) => s.phase === 'running');

    await engine.stop();
    await waitUntil(async () => (await health()).docker.available === false);
    expect((await health()).docker.error).toBeTruthy();
    const refused = await agent.client.call('POST', '/api/replicas', agent.spec({ image: PRIVATE_IMAGE, commands: ['true'] }));
    expect(refused).toMatchObject({ status: 503, body: { code: 'DOCKER_UNAVAILABLE' } });

    await engine.start();
    await waitUntil(async () => (await health()).docker.available === true);
    // The engine stopped the container with it: the agent learns how it ended once Docker is back.
    expect(await agent.client.waitTerminal(before.id)).toMatchObject({ phase: 'exited' });
    const after = agent.spec({ image: PRIVATE_IMAGE, commands: ['echo back'] });
    expect((await agent.client.call('POST', '/api/replicas', after)).status).toBe(201);
    expect(await agent.client.waitTerminal(after.id)).toMatchObject({ phase: 'exited', exitCode: 0 });
  });
});

async function waitUntil(ok: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition never held');
}
