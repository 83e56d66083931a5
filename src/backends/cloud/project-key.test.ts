import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { utils } from 'ssh2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureProjectKey, projectKeyPath } from './project-key.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'project-key-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('ensureProjectKey', () => {
  it('makes an ed25519 key once per project (0600, OpenSSH format, .pub beside it) and reads it back after', async () => {
    const first = await ensureProjectKey(dir, 'main');
    expect(first.identityFile).toBe(path.join(dir, 'projects', 'main', 'id_ed25519'));
    expect(first.identityFile).toBe(projectKeyPath(dir, 'main'));
    expect((await stat(first.identityFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(first.identityFile, 'utf8')).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----/);
    expect(first.publicKey).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/=]+ dstack-main$/);
    expect((await readFile(`${first.identityFile}.pub`, 'utf8')).trim()).toBe(first.publicKey);
    const parsed = utils.parseKey(await readFile(first.identityFile));
    expect(parsed instanceof Error ? parsed.message : 'parsed').toBe('parsed');

    await rm(`${first.identityFile}.pub`);
    expect(await ensureProjectKey(dir, 'main')).toEqual(first);
    expect((await ensureProjectKey(dir, 'team/b')).publicKey).not.toBe(first.publicKey);
  });
});
