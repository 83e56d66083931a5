// Connecting to fleet hosts with the SSH backend against the real sshd of the namespace hosts: the host key is
// stored on first contact and a changed one refused, and each connection failure comes back with its own code.
// Needs root and `scripts/test-hosts.sh up 2`.
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { utils } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DstackError } from '../../../src/core/errors.js';
import { fingerprint } from '../../../src/backends/ssh/known-hosts.js';
import { holdTestHosts, loadTestHosts, type TestHost } from '../../helpers/test-hosts.js';
import { progressLog, sshTestEnv, targetOf, type SshTestEnv } from './helpers.js';

let env: SshTestEnv;
let h1: TestHost;
let h2: TestHost;
holdTestHosts();

beforeAll(async () => {
  [h1, h2] = loadTestHosts(2).hosts as [TestHost, TestHost];
  env = await sshTestEnv(11_101);
});
afterAll(() => env.cleanup());

async function provisionError(target: ReturnType<typeof targetOf>, knownHostsPath = env.knownHosts): Promise<DstackError> {
  const backend = env.backend({ knownHostsPath });
  const progress = progressLog();
  const error = await backend.provision(target, progress.on).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DstackError);
  return error as DstackError;
}

describe('SSH connect', () => {
  it('stores the host key on first contact (OpenSSH format, 0600); a missing agent binary is named', async () => {
    const known = path.join(env.home, 'first', 'known_hosts');
    // A missing binary stops provisioning after the key check and the prerequisites, before anything is installed.
    const missing = path.join(env.home, 'no', 'dstack-agent');
    const backend = env.backend({ knownHostsPath: known, agentBinary: missing });
    const progress = progressLog();
    const error = await backend.provision(targetOf(h1), progress.on).then(() => undefined, (e: unknown) => e as DstackError);
    expect(error?.code).toBe('AGENT_BINARY_MISSING');
    expect(error?.message).toContain(missing);
    expect(error?.hint).toContain('npm run build:binary');
    const blob = Buffer.from(h1.hostKey.split(' ')[1] as string, 'base64');
    expect(await readFile(known, 'utf8')).toBe(`${h1.ip} ${h1.hostKey}\n`);
    expect((await stat(known)).mode & 0o777).toBe(0o600);
    expect(progress.lines).toContain(`host-key: host key stored (${fingerprint(blob)})`);
    expect(progress.lines.some((l) => l.startsWith('prerequisites: x86_64, docker '))).toBe(true);
  });

  it('refuses a changed host key, naming host, both fingerprints and the line to delete', async () => {
    const known = path.join(env.home, 'changed_known_hosts');
    // h1's address with h2's key: what a re-installed (or impersonated) host looks like.
    await writeFile(known, `${h1.ip} ${h2.hostKey}\n`, { mode: 0o600 });
    const error = await provisionError(targetOf(h1), known);
    expect(error.code).toBe('HOST_KEY_CHANGED');
    const oldFp = fingerprint(Buffer.from(h2.hostKey.split(' ')[1] as string, 'base64'));
    const newFp = fingerprint(Buffer.from(h1.hostKey.split(' ')[1] as string, 'base64'));
    expect(error.message).toContain(h1.ip);
    expect(error.message).toContain(oldFp);
    expect(error.message).toContain(newFp);
    expect(error.hint).toContain(`"${h1.ip} ssh-ed25519"`);
    expect(error.hint).toContain(known);
    expect(await readFile(known, 'utf8')).toBe(`${h1.ip} ${h2.hostKey}\n`); // never overwritten
  });

  it('maps a key the host does not accept to SSH_AUTH_FAILED naming user@host and the key file', async () => {
    const keyFile = path.join(env.home, 'stranger_ed25519');
    const pair = utils.generateKeyPairSync('ed25519');
    await writeFile(keyFile, pair.private, { mode: 0o600 });
    const error = await provisionError(targetOf(h1, 'auth', { identityFile: keyFile }));
    expect(error.code).toBe('SSH_AUTH_FAILED');
    expect(error.message).toContain(`${h1.user}@${h1.ip}`);
    expect(error.message).toContain(keyFile);
  });

  it('maps an address nobody answers on to SSH_UNREACHABLE', async () => {
    const error = await provisionError(targetOf({ ...h1, ip: '10.77.0.99' }, 'nowhere'));
    expect(error.code).toBe('SSH_UNREACHABLE');
    expect(error.message).toContain('10.77.0.99');
  });

  it('names an identity file that does not exist', async () => {
    const missing = path.join(env.home, 'no-such-key');
    const error = await provisionError(targetOf(h1, 'nokey', { identityFile: missing }));
    expect(error.code).toBe('SSH_KEY_UNREADABLE');
    expect(error.message).toContain(missing);
  });
});
