// Provisioning a real namespace host with the SSH backend, end to end: the dstack-agent binary is uploaded once,
// started detached, answers through the SSH tunnel; a replica started through it answers through replicaOrigin's
// dispatcher; a new backend (a restarted daemon) reconnects from the targets and token files alone; teardown
// leaves no container and no agent process. Needs root, dist/bin/dstack-agent and `scripts/test-hosts.sh up 1`.
import { readFile, rm, stat } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { LABELS } from '../../../src/core/model/agent-constants.js';
import { ANY_REQUIREMENTS } from '../../../src/core/runs/requirements.js';
import type { SshBackend } from '../../../src/backends/ssh/index.js';
import { runInHost } from '../../helpers/ssh.js';
import { holdTestHosts, dockerOptions, loadTestHosts, TEST_IMAGES, type TestHost } from '../../helpers/test-hosts.js';
import { progressLog, sshTestEnv, targetOf, waitRunning, waitUntil, type SshTestEnv } from './helpers.js';

let env: SshTestEnv;
let host: TestHost;
let backend: SshBackend;
const target = () => targetOf(host, 'prov-0');
const binary = `${process.cwd()}/dist/bin/dstack-agent`;

holdTestHosts();

beforeAll(async () => {
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run \`npm run build:binary\` first`);
  host = loadTestHosts(1).hosts[0] as TestHost;
  env = await sshTestEnv(11_102);
  backend = env.backend();
  backend.setTargets([target()]);
});
afterAll(async () => {
  // Whatever a failed test left: the agent directory of this run and its containers.
  await backend.teardown(target()).catch(() => undefined);
  await env.cleanup();
});

const netnsPids = (netns: string) => execFileSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number);
/** Not a zombie: the detached agent is reparented to a PID 1 that may not reap it. */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};
const remoteMtime = async (file: string) => (await runInHost(host.name, `stat -c %Y "$HOME"/${file}`)).stdout.trim();

describe('SSH backend provisioning', () => {
  let agentPid = 0;

  it('uploads the agent once, starts it, and reads host info through the tunnel', async () => {
    const first = progressLog();
    const r1 = await backend.provision(target(), first.on);
    expect(first.lines.some((l) => /^upload-agent: uploading dstack-agent \(\d+ MB\)$/.test(l))).toBe(true);
    expect(first.lines.some((l) => l.startsWith('start-agent: dstack-agent 0.1.0 started'))).toBe(true);
    expect(r1.agentVersion).toBe('0.1.0');
    expect(r1.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(r1.host.runtime).toBe('docker');
    expect(r1.host.cpus).toBeGreaterThan(0);
    const mtime = await remoteMtime(`${env.remoteDir}/dstack-agent`);
    const token = await runInHost(host.name, `stat -c %a "$HOME"/${env.remoteDir}/token`);
    expect(token.stdout.trim()).toBe('600');

    const second = progressLog();
    await backend.provision(target(), second.on);
    expect(second.lines.some((l) => l.includes('no upload'))).toBe(true);
    expect(second.lines.some((l) => l.startsWith('upload-agent: uploading'))).toBe(false);
    expect(second.lines.some((l) => l.startsWith('start-agent: dstack-agent 0.1.0 already running'))).toBe(true);
    expect(await remoteMtime(`${env.remoteDir}/dstack-agent`)).toBe(mtime);

    const conn = await backend.ensureAgent('prov-0');
    const health = await conn.client.health();
    agentPid = health.pid;
    // The agent runs on the host (its network namespace), not here.
    expect((await readFile(`/proc/${agentPid}/cmdline`, 'utf8')).split('\0')[0]).toMatch(/dstack-agent$/);
    expect(netnsPids(host.netns)).toContain(agentPid);
    const tokenFile = await stat(`${env.home}/server/ssh/prov-0.token`);
    expect(tokenFile.mode & 0o777).toBe(0o600);
  });

  it('runs a replica through the agent; HTTP and a WebSocket reach it through replicaOrigin over the same connection', async () => {
    const conn = await backend.ensureAgent('prov-0');
    const spec = { id: 'ssh-prov-web-0-0', runName: 'ssh-prov-web', replicaNum: 0, image: TEST_IMAGES.node, commands: ['node /srv/http-echo.mjs 8080'], port: 8080 };
    await conn.client.createReplica(spec);
    const running = await waitRunning(conn.client, spec.id);
    expect(running.phase).toBe('running');
    const { origin, dispatcher } = conn.replicaOrigin(running.hostPort as number);
    expect(dispatcher).toBeDefined();
    const res = await waitUntil('the replica answers', async () => {
      const r = await dispatcher!.request({ origin, path: '/hello?x=1', method: 'GET' });
      return r.statusCode === 200 ? r : void (await r.body.dump());
    });
    expect(JSON.parse(await res.body.text())).toMatchObject({ method: 'GET', path: '/hello', query: { x: '1' } });

    // The proxy relays WebSockets with dispatcher.dispatch({upgrade}); undici hands back the ssh2 channel itself.
    const { socket, statusCode } = await new Promise<{ socket: Duplex; statusCode: number }>((resolve, reject) =>
      dispatcher!.upgrade(
        // An Agent routes by origin (missing from undici's UpgradeOptions type, present at runtime).
        { origin, path: '/ws', method: 'GET', headers: { 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' }, protocol: 'websocket' } as Dispatcher.UpgradeOptions,
        (err, data) => (err ? reject(err) : resolve({ socket: data.socket, statusCode: 101 })),
      ),
    );
    expect(statusCode).toBe(101);
    const payload = Buffer.from('over ssh');
    const mask = Buffer.from([1, 2, 3, 4]);
    socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload.map((b, i) => b ^ mask[i % 4]!)]));
    const echoed = await new Promise<Buffer>((resolve) => {
      let got = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (got.length >= 2 + payload.length) resolve(got);
      });
    });
    expect(echoed.subarray(2).toString()).toBe('over ssh');
    socket.destroy();
  });

  it('a restarted daemon (new backend, same home) reuses the running agent from targets and token files', async () => {
    const restarted = env.backend();
    restarted.setTargets([target()]);
    const conn = await restarted.ensureAgent('prov-0');
    expect((await conn.client.health()).pid).toBe(agentPid);
    expect((await conn.client.listReplicas()).map((r) => r.id)).toContain('ssh-prov-web-0-0');
    const offers = await restarted.offers(ANY_REQUIREMENTS);
    expect(offers).toEqual([expect.objectContaining({ backend: 'ssh', region: 'test', instanceType: 'ssh', price: 0, availability: 'busy', instance: 'prov-0' })]);
    expect(env.log.some((l) => l.includes('provisioning'))).toBe(false);
    await restarted.close();
  });

  it('restarts an agent that rejects our token (lost token file); the new agent adopts the running replica', async () => {
    await rm(`${env.home}/server/ssh/prov-0.token`);
    const progress = progressLog();
    await backend.provision(target(), progress.on);
    expect(progress.lines.some((l) => l.startsWith('start-agent: dstack-agent 0.1.0 started'))).toBe(true);
    const conn = await backend.ensureAgent('prov-0');
    const health = await conn.client.health();
    expect(health.pid).not.toBe(agentPid);
    expect(alive(agentPid)).toBe(false);
    agentPid = health.pid;
    const adopted = await conn.client.getReplica('ssh-prov-web-0-0');
    expect(adopted.phase).toBe('running');
    const { origin, dispatcher } = conn.replicaOrigin(adopted.hostPort as number);
    const res = await dispatcher!.request({ origin, path: '/adopted', method: 'GET' });
    expect(JSON.parse(await res.body.text())).toMatchObject({ path: '/adopted' });
  });

  it('teardown stops and removes every replica, stops the agent and removes its directory', async () => {
    const conn = await backend.ensureAgent('prov-0');
    expect((await conn.client.listReplicas()).length).toBeGreaterThan(0);
    await backend.teardown(target());
    const docker = new Docker(dockerOptions(host.dockerHost));
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABELS.replicaId}=ssh-prov-web-0-0`] } });
    expect(left).toEqual([]);
    expect(netnsPids(host.netns)).not.toContain(agentPid);
    expect(alive(agentPid)).toBe(false);
    const dir = await runInHost(host.name, `test -e "$HOME"/${env.remoteDir} && echo present || echo gone`);
    expect(dir.stdout.trim()).toBe('gone');
    expect(existsSync(`${env.home}/server/ssh/prov-0.token`)).toBe(false);
    expect(backend.instances()).toEqual([]);
  });
});
