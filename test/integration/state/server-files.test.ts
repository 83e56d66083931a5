/**
 * The server files mirrored in PostgreSQL (issue 17, HA): what a leader puts comes back byte for byte, with its
 * mode, in the home of a server that takes over; restore leaves equal files alone and never writes outside the
 * home, whatever a row says.
 */
import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NO_FILE_MIRROR } from '../../../src/core/state/file-mirror.js';
import { openPgServerFiles, type PgServerFiles } from '../../../src/daemon/state/pg/server-files.js';
import { query, startTestPostgres, type TestPostgres } from '../../helpers/postgres.js';

let cluster: TestPostgres;
beforeAll(async () => {
  cluster = await startTestPostgres();
});
afterAll(() => cluster?.stop());

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function open(url: string): Promise<PgServerFiles> {
  const files = await openPgServerFiles(url);
  cleanups.push(() => files.close());
  return files;
}

async function home(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dstack-files-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe('PgServerFiles', () => {
  it('put, get, remove and restore round-trip bytes and modes; restore leaves equal files alone', async () => {
    const url = await cluster.createDatabase();
    const leader = await open(url);
    const binary = Buffer.from([0, 1, 2, 255, 254, 0]);
    await leader.put('ssh/hosts/10.0.0.1/token', 'tok-1');
    await leader.put('ssh/known_hosts', 'host key\n', 0o644);
    await leader.put('archives/main/abc.tar.gz', binary, 0o640);
    await leader.put('ssh/gone', 'x');
    await leader.put('ssh/hosts/10.0.0.1/token', 'tok-2'); // replaced, not added
    await leader.remove('ssh/gone');
    await leader.remove('ssh/never-was');
    expect(await leader.get('ssh/hosts/10.0.0.1/token')).toEqual(Buffer.from('tok-2'));
    expect(await leader.get('archives/main/abc.tar.gz')).toEqual(binary);
    expect(await leader.get('ssh/gone')).toBeUndefined();

    // Another server, its own connection and home.
    const follower = await open(url);
    const dir = await home();
    expect(await follower.restore(dir)).toBe(3);
    expect(await readFile(join(dir, 'ssh/hosts/10.0.0.1/token'), 'utf8')).toBe('tok-2');
    expect(await readFile(join(dir, 'ssh/known_hosts'), 'utf8')).toBe('host key\n');
    expect(await readFile(join(dir, 'archives/main/abc.tar.gz'))).toEqual(binary);
    expect(await Promise.all(['ssh/hosts/10.0.0.1/token', 'ssh/known_hosts', 'archives/main/abc.tar.gz'].map((p) => modeOf(join(dir, p))))).toEqual([0o600, 0o644, 0o640]);
    expect(await Promise.all(['ssh', 'ssh/hosts', 'ssh/hosts/10.0.0.1', 'archives/main'].map((p) => modeOf(join(dir, p))))).toEqual([0o700, 0o700, 0o700, 0o700]);
    expect(await readdir(join(dir, 'ssh'))).toEqual(['hosts', 'known_hosts']); // no temp files left

    expect(await follower.restore(dir)).toBe(0);
    // A file changed on disk (content or mode) is brought back to the stored one; the others stay.
    await writeFile(join(dir, 'ssh/known_hosts'), 'stale\n');
    await chmod(join(dir, 'archives/main/abc.tar.gz'), 0o600);
    expect(await follower.restore(dir)).toBe(2);
    expect(await readFile(join(dir, 'ssh/known_hosts'), 'utf8')).toBe('host key\n');
    expect(await modeOf(join(dir, 'archives/main/abc.tar.gz'))).toBe(0o640);
  });

  it('only permission bits are kept: a setuid mode is stored without its setuid bit', async () => {
    const url = await cluster.createDatabase();
    const files = await open(url);
    await files.put('bin/tool', 'x', 0o4755);
    expect(await query(url, 'SELECT mode FROM server_files')).toEqual([{ mode: 0o755 }]);
  });

  it('refuses paths that are absolute or leave the home, on put, remove and get, and a restore of such a row writes nothing', async () => {
    const url = await cluster.createDatabase();
    const files = await open(url);
    for (const rel of ['../x', '/etc/passwd', 'ssh/../../x', 'a//b', './a', '', 'a\\..\\b', 'C:/x']) {
      await expect(files.put(rel, 'x')).rejects.toMatchObject({ code: 'SERVER_FILE_PATH_INVALID' });
      await expect(files.remove(rel)).rejects.toMatchObject({ code: 'SERVER_FILE_PATH_INVALID' });
      await expect(files.get(rel)).rejects.toMatchObject({ code: 'SERVER_FILE_PATH_INVALID' });
    }
    expect(await query(url, 'SELECT path FROM server_files')).toEqual([]);

    await files.put('ssh/ok', 'fine');
    await query(url, "INSERT INTO server_files (path, content, mode) VALUES ('../escaped', 'x', 384)");
    const parent = await home();
    const dir = join(parent, 'home');
    await expect(files.restore(dir)).rejects.toMatchObject({ code: 'SERVER_FILE_PATH_INVALID', message: expect.stringContaining('../escaped') });
    expect(await readdir(parent)).toEqual([]);
  });

  it('the JSON state mirrors nothing and answers at once', async () => {
    await expect(NO_FILE_MIRROR.put('ssh/x', 'y')).resolves.toBeUndefined();
    await expect(NO_FILE_MIRROR.remove('ssh/x')).resolves.toBeUndefined();
  });
});
