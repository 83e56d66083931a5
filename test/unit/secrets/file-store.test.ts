// The embedded daemon's secrets file on a real filesystem: 0600, atomic, changes serialized, bad files refused.
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSecretFile, secretsFileIn } from '../../../src/daemon/secrets/file-store.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function serverDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'dstack-secrets-'));
  dirs.push(d);
  return d;
}

describe('the secrets file', () => {
  it('starts empty, writes 0600 on the first change, and a reopened store reads what was written', async () => {
    const dir = await serverDir();
    const file = secretsFileIn(dir);
    let now = 1_000;
    const store = await openSecretFile(file, () => now);
    expect(store.list('main')).toEqual([]);
    expect(await store.set('main', 'hf_token', 'v1')).toEqual({ secret: { name: 'hf_token', createdAt: 1_000, updatedAt: 1_000 }, created: true });
    now = 2_000;
    expect(await store.set('main', 'hf_token', 'v2')).toEqual({ secret: { name: 'hf_token', createdAt: 1_000, updatedAt: 2_000 }, created: false });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const again = await openSecretFile(file);
    expect(again.values('main')).toEqual(new Map([['hf_token', 'v2']]));
    expect(again.list('other')).toEqual([]);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('keeps every one of many concurrent changes, and deletes', async () => {
    const store = await openSecretFile(secretsFileIn(await serverDir()));
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.set('main', `s${String(i).padStart(2, '0')}`, `v${i}`)));
    expect(store.list('main').map((s) => s.name)).toHaveLength(20);
    expect(await store.delete('main', 's03')).toMatchObject({ name: 's03' });
    expect(await store.delete('main', 's03')).toBeUndefined();
    expect(store.values('main').has('s03')).toBe(false);
    expect(store.allValues()).toHaveLength(19);
  });

  it('narrows a file left readable by others to 0600 when it loads', async () => {
    const file = secretsFileIn(await serverDir());
    await writeFile(file, JSON.stringify({ version: 1, projects: { main: { a: { value: 'x', createdAt: 1, updatedAt: 1 } } } }), { mode: 0o644 });
    await chmod(file, 0o644);
    await openSecretFile(file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('refuses a damaged file naming it, never quoting its content', async () => {
    const file = secretsFileIn(await serverDir());
    await writeFile(file, '{"version":1,"projects":{"main":{"a":{"value":"leaky-value"}}}}', { mode: 0o600 });
    const e = (await openSecretFile(file).then(() => undefined, (err: unknown) => err)) as Error & { code: string };
    expect(e).toMatchObject({ code: 'SECRETS_FILE_INVALID' });
    expect(e.message).toContain(file);
    expect(e.message).not.toContain('leaky-value');
    await writeFile(file, 'leaky-value not json');
    expect(((await openSecretFile(file).catch((err: unknown) => err)) as Error).message).not.toContain('leaky');
    expect(await readFile(file, 'utf8')).toBe('leaky-value not json');
  });
});
