import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, readlink, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { collectRepoFiles, packRepo, type RepoEntry } from '../../../src/core/repo/index.js';
import { tarList, tempDir, type TempDir } from './helpers.js';

const LONG_DIR = `${'a-folder-name-that-goes-on-'.repeat(3)}/${'and-on-'.repeat(10)}`;
const LONG = `${LONG_DIR}/${'file-'.repeat(25)}.py`;
const LONG_TARGET = `../${'t'.repeat(120)}`;

let dirs: TempDir[] = [];
afterEach(async () => {
  await Promise.all(dirs.map((d) => d.cleanup()));
  dirs = [];
});
async function fresh(): Promise<TempDir> {
  const d = await tempDir();
  dirs.push(d);
  return d;
}

async function project(): Promise<TempDir> {
  const d = await fresh();
  await d.write('.dstack.yml', 'type: service\n');
  await d.write('app.py', 'print("hi")\n');
  await d.write('bin/start', '#!/bin/sh\necho start\n', 0o755);
  await d.write('empty.txt', '');
  await d.write(LONG, 'long name\n');
  await d.write('ünïcödé.txt', 'utf8\n');
  await d.link('link', 'app.py');
  await d.link('long-link', LONG_TARGET);
  return d;
}

describe('packRepo', () => {
  it('writes a tar.gz that system tar lists and extracts, with modes, links and long names', async () => {
    const d = await project();
    const out = await fresh();
    const files = await collectRepoFiles(path.join(d.dir, '.dstack.yml'));
    const info = await packRepo(files, { outDir: out.dir });

    expect(info.archivePath).toBe(path.join(out.dir, `${info.sha256}.tar.gz`));
    const bytes = await readFile(info.archivePath);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(info.sha256);
    expect(info.bytes).toBe(bytes.length);
    expect(info.files).toBe(8);
    expect(await readdir(out.dir)).toEqual([path.basename(info.archivePath)]); // no temp file left

    const { stdout: verbose } = await execa('tar', ['-tzvf', info.archivePath]);
    expect(verbose).toMatch(/^-rwxr-xr-x root\/root .* bin\/start$/m);
    expect(verbose).toMatch(/^-rw-r--r-- root\/root .* app\.py$/m);
    expect(verbose).toMatch(/^drwxr-xr-x root\/root .* bin\/$/m);
    expect(verbose).toMatch(/^lrwxrwxrwx root\/root .* link -> app\.py$/m);
    expect(verbose).toContain('1970-01-01');
    expect(await tarList(info.archivePath)).toContain(LONG);

    const into = await fresh();
    await execa('tar', ['-xzf', info.archivePath, '-C', into.dir]);
    for (const rel of ['.dstack.yml', 'app.py', 'bin/start', 'empty.txt', LONG, 'ünïcödé.txt']) {
      expect(await readFile(path.join(into.dir, rel), 'utf8')).toBe(await readFile(path.join(d.dir, rel), 'utf8'));
    }
    expect((await stat(path.join(into.dir, 'bin/start'))).mode & 0o777).toBe(0o755);
    expect(await readlink(path.join(into.dir, 'link'))).toBe('app.py');
    expect(await readlink(path.join(into.dir, 'long-link'))).toBe(LONG_TARGET);
  });

  it('gives the same sha256 for the same content whatever the mtimes, and does not rewrite the archive (only touches it)', async () => {
    const d = await project();
    const out = await fresh();
    const cfg = path.join(d.dir, '.dstack.yml');
    const first = await packRepo(await collectRepoFiles(cfg), { outDir: out.dir });
    const before = await stat(first.archivePath);

    for (const rel of ['.dstack.yml', 'app.py', 'bin/start', LONG]) {
      await utimes(path.join(d.dir, rel), new Date('2030-01-01'), new Date('2030-01-01'));
    }
    const again = await packRepo(await collectRepoFiles(cfg), { outDir: out.dir });
    expect(again).toEqual(first);
    const after = await stat(first.archivePath);
    expect(after.ino).toBe(before.ino);
    // Touched, so the daemon's cleanup of unused archives (older than a day) spares one a CLI just packed.
    expect(after.mtimeMs).toBeGreaterThanOrEqual(before.mtimeMs);
    expect(await readdir(out.dir)).toHaveLength(1);

    await d.write('app.py', 'print("changed")\n');
    const changed = await packRepo(await collectRepoFiles(cfg), { outDir: out.dir });
    expect(changed.sha256).not.toBe(first.sha256);
  });

  it('does not depend on the order of the entries it is given', async () => {
    const out = await fresh();
    const entries: RepoEntry[] = [
      { kind: 'file', path: 'b/z.txt', mode: 0o644, data: Buffer.from('z') },
      { kind: 'file', path: 'a.txt', mode: 0o644, data: Buffer.from('a') },
      { kind: 'symlink', path: 'b/l', target: 'z.txt' },
    ];
    const one = await packRepo({ entries }, { outDir: out.dir });
    const two = await packRepo({ entries: [...entries].reverse() }, { outDir: path.join(out.dir, 'other') });
    expect(two.sha256).toBe(one.sha256);
    expect(await tarList(one.archivePath)).toEqual(['a.txt', 'b/', 'b/l', 'b/z.txt']);
  });

  it('packs an empty file list into a valid archive', async () => {
    const out = await fresh();
    await mkdir(out.dir, { recursive: true });
    const info = await packRepo({ entries: [] }, { outDir: out.dir });
    expect(info.files).toBe(0);
    expect(await tarList(info.archivePath)).toEqual([]);
  });
});
