import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fingerprint, hostPattern, keyType, KnownHosts } from './known-hosts.js';

/** An SSH wire-format key blob: string type, then key bytes (enough for type and fingerprint). */
const blob = (type: string, fill: number) => {
  const t = Buffer.from(type);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(t.length);
  return Buffer.concat([len, t, Buffer.alloc(36, fill)]);
};

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'known-hosts-'));
  file = path.join(dir, 'server', 'known_hosts');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('KnownHosts', () => {
  it('writes host patterns and fingerprints as OpenSSH does', () => {
    expect(hostPattern('10.0.0.1', 22)).toBe('10.0.0.1');
    expect(hostPattern('10.0.0.1', 2222)).toBe('[10.0.0.1]:2222');
    expect(keyType(blob('ssh-ed25519', 1))).toBe('ssh-ed25519');
    expect(fingerprint(Buffer.from('abc'))).toBe('SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0');
  });

  it('stores a first key (0600), then knows it; other hosts and ports are separate entries', async () => {
    const kh = new KnownHosts(file);
    const key = blob('ssh-ed25519', 1);
    expect(await kh.check('h', 2222, key)).toEqual({ status: 'stored', fingerprint: fingerprint(key) });
    expect(await kh.check('h', 2222, key)).toEqual({ status: 'known', fingerprint: fingerprint(key) });
    expect(await kh.check('h', 22, blob('ssh-ed25519', 2))).toMatchObject({ status: 'stored' });
    expect(await readFile(file, 'utf8')).toBe(`[h]:2222 ssh-ed25519 ${key.toString('base64')}\nh ssh-ed25519 ${blob('ssh-ed25519', 2).toString('base64')}\n`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('refuses a changed key of the same type, naming both fingerprints and the line, and keeps the file', async () => {
    const old = blob('ssh-ed25519', 1);
    await new KnownHosts(file).check('h', 22, old);
    const before = await readFile(file, 'utf8');
    const check = await new KnownHosts(file).check('h', 22, blob('ssh-ed25519', 9));
    expect(check.status).toBe('changed');
    if (check.status !== 'changed') return;
    expect(check.error.code).toBe('HOST_KEY_CHANGED');
    expect(check.error.message).toContain(fingerprint(old));
    expect(check.error.message).toContain(fingerprint(blob('ssh-ed25519', 9)));
    expect(check.error.hint).toContain(`"h ssh-ed25519"`);
    expect(await readFile(file, 'utf8')).toBe(before);
  });

  it('reads comma-separated host lists and skips comments; concurrent first contacts all land', async () => {
    const key = blob('ssh-ed25519', 3);
    await writeFile(file.replace('server/known_hosts', 'kh'), `# comment\nother,h ssh-ed25519 ${key.toString('base64')}\n`);
    const kh = new KnownHosts(file.replace('server/known_hosts', 'kh'));
    expect((await kh.check('h', 22, key)).status).toBe('known');
    const many = new KnownHosts(file);
    await Promise.all([1, 2, 3, 4].map((i) => many.check(`h${i}`, 22, blob('ssh-ed25519', i))));
    expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(4);
  });

  it('keys a host by its alias when one is given, so a new key at a reused address is a new entry, not a changed key', async () => {
    const kh = new KnownHosts(file);
    const first = blob('ssh-ed25519', 1);
    const next = blob('ssh-ed25519', 2);
    expect((await kh.check('10.0.0.5', 22, first, 'i-0aaa')).status).toBe('stored');
    expect((await kh.check('10.0.0.5', 22, next, 'i-0bbb')).status).toBe('stored');
    expect((await kh.check('10.0.0.5', 22, next, 'i-0aaa')).status).toBe('changed');
    expect(await readFile(file, 'utf8')).toBe(`i-0aaa ssh-ed25519 ${first.toString('base64')}\ni-0bbb ssh-ed25519 ${next.toString('base64')}\n`);
  });

  it('forgets every key of a name (plain, with a port, in a host list) and nothing else', async () => {
    const key = (i: number) => blob('ssh-ed25519', i).toString('base64');
    await writeFile(file.replace('server/known_hosts', 'kh'), `# i-0aaa\ni-0aaa ssh-ed25519 ${key(1)}\n[i-0aaa]:2222 ssh-ed25519 ${key(2)}\nother,i-0aaa ssh-rsa ${key(3)}\ni-0aaab ssh-ed25519 ${key(4)}\n`);
    const kh = new KnownHosts(file.replace('server/known_hosts', 'kh'));
    await kh.forget('i-0aaa');
    expect(await readFile(file.replace('server/known_hosts', 'kh'), 'utf8')).toBe(`# i-0aaa\ni-0aaab ssh-ed25519 ${key(4)}\n`);
    expect((await kh.check('10.0.0.5', 22, blob('ssh-ed25519', 9), 'i-0aaa')).status).toBe('stored');
    await new KnownHosts(path.join(dir, 'absent')).forget('i-0aaa');
  });
});
