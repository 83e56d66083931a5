// proxy_jump: the SSH backend reaches dstack-h2 through dstack-h1 (a forwardOut channel from h1 used as the
// socket of the connection to h2), provisions the agent over both hops and tears it down again. h2's own sshd log
// proves the jump was used: the login comes from h1's address, not from this machine's. For the test h2 drops
// SSH from this machine (an iptables rule in h2's namespace), so h2 is reachable only through h1.
// Needs `test-hosts.sh up 2`.
import { execFileSync } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SshTarget } from '../../../src/core/fleets/types.js';
import type { SshBackend } from '../../../src/backends/ssh/index.js';
import { runInHost } from '../../helpers/ssh.js';
import { holdTestHosts, loadTestHosts, type TestHost } from '../../helpers/test-hosts.js';
import { progressLog, sshTestEnv, targetOf, type SshTestEnv } from './helpers.js';

let env: SshTestEnv;
let backend: SshBackend;
let h1: TestHost;
let h2: TestHost;
let target: SshTarget;
let blocked = false;
// The bridge address this machine uses toward the hosts (scripts/test-hosts.sh).
const BRIDGE_IP = '10.77.0.1';
const dropDirect = (h: TestHost, op: '-I' | '-D') =>
  execFileSync('ip', ['netns', 'exec', h.name, 'iptables', op, 'INPUT', '-p', 'tcp', '--dport', String(h.sshPort), '-s', BRIDGE_IP, '-j', 'DROP']);
/** Whether a TCP connection from this machine to h:port opens within 1.5 s. */
const reachable = (ip: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host: ip, port, timeout: 1_500 });
    const done = (ok: boolean) => (s.destroy(), resolve(ok));
    s.once('connect', () => done(true)).once('timeout', () => done(false)).once('error', () => done(false));
  });
const sshdLog = (h: TestHost) => `/run/dstack-test/hosts/${h.name.replace('dstack-', '')}/sshd.log`;

holdTestHosts();

beforeAll(async () => {
  [h1, h2] = loadTestHosts(2).hosts as [TestHost, TestHost];
  env = await sshTestEnv(11_103);
  backend = env.backend();
  dropDirect(h2, '-I');
  blocked = true;
  target = targetOf(h2, 'jump-0', { proxyJump: { hostname: h1.ip, port: h1.sshPort, user: h1.user, identityFile: h1.identityFile } });
  backend.setTargets([target]);
});
afterAll(async () => {
  if (blocked) dropDirect(h2, '-D');
  await backend?.teardown(target).catch(() => undefined);
  await env.cleanup();
});

describe('SSH backend through proxy_jump', () => {
  it('provisions h2 through h1: both host keys stored, the agent answers, h2 saw the login from h1', async () => {
    expect(await reachable(h2.ip, h2.sshPort)).toBe(false);
    expect(await reachable(h1.ip, h1.sshPort)).toBe(true);
    const logStart = (await stat(sshdLog(h2))).size;
    const progress = progressLog();
    const result = await backend.provision(target, progress.on);
    expect(progress.lines[0]).toBe(`connect: connecting to ${h2.user}@${h2.ip}:${h2.sshPort} via ${h1.user}@${h1.ip}`);
    expect(result.host.hostname).toBeTruthy();
    expect(await readFile(env.knownHosts, 'utf8')).toBe(`${h1.ip} ${h1.hostKey}\n${h2.ip} ${h2.hostKey}\n`);

    const conn = await backend.ensureAgent('jump-0');
    expect((await conn.client.health()).version).toBe(result.agentVersion);
    const log = (await readFile(sshdLog(h2), 'utf8')).slice(logStart);
    expect(log).toMatch(new RegExp(`Accepted publickey for ${h2.user} from ${h1.ip.replaceAll('.', '\\.')} port`));
  });

  it('teardown through the jump removes the agent directory, and a second teardown finds nothing to fail on', async () => {
    await backend.teardown(target);
    expect(backend.instances()).toEqual([]);
    await expect(env.backend().teardown(target)).resolves.toBeUndefined();
    // Looking at h2 directly needs the direct route back.
    dropDirect(h2, '-D');
    blocked = false;
    const dir = await runInHost(h2.name, `test -e "$HOME"/${env.remoteDir} && echo present || echo gone`);
    expect(dir.stdout.trim()).toBe('gone');
  });
});
