import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { collectRepoFiles, nodeRepoFs, type RepoEntry, type RepoFs } from '../../../src/core/repo/index.js';
import { UserError } from '../../../src/core/errors.js';
import { paths, tempDir, type TempDir } from './helpers.js';

const LONG = `${'deeply-nested-folder/'.repeat(4)}${'a-file-with-a-rather-long-name-'.repeat(3)}.txt`;
const text = (entries: RepoEntry[], p: string) => {
  const e = entries.find((x) => x.path === p);
  return e?.kind === 'file' ? e.data.toString() : undefined;
};

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

describe('collectRepoFiles in a git repository', () => {
  async function repo(): Promise<TempDir> {
    const d = await fresh();
    await d.git('init', '-q');
    await d.write('.gitignore', '*.log\nsecret/\n');
    await d.write('.dstackignore', 'models/\ndata.csv\n');
    await d.write('svc/.dstack.yml', 'type: service\n');
    await d.write('app.py', 'print("v1")\n');
    await d.write('run.sh', '#!/bin/sh\n', 0o755);
    await d.write('src/lib/util.py', 'X = 1\n');
    await d.write(LONG, 'long\n');
    await d.write('data.csv', 'a,b\n');
    await d.write('old.py', 'gone\n');
    await d.link('app-link.py', 'app.py');
    await d.git('add', '-A');
    await d.git('commit', '-qm', 'init');
    // after the commit: an uncommitted edit, a deleted tracked file, untracked and ignored files, odd links
    await d.write('app.py', 'print("v2")\n');
    await rm(path.join(d.dir, 'old.py'));
    await d.write('notes.txt', 'untracked\n');
    await d.write('debug.log', 'ignored by git\n');
    await d.write('secret/key', 'ignored by git\n');
    await d.write('models/big.bin', 'ignored by .dstackignore\n');
    await d.link('loop', 'loop');
    await d.link('src/up', '..');
    await d.link('outside', '/etc/passwd');
    return d;
  }

  it('takes tracked and untracked files, minus .gitignore and .dstackignore, from the git root', async () => {
    const d = await repo();
    const files = await collectRepoFiles(path.join(d.dir, 'svc/.dstack.yml'));
    expect(files.source).toBe('git');
    expect(files.root).toBe(d.dir);
    expect(paths(files.entries)).toEqual(
      [
        '.dstackignore',
        '.gitignore',
        LONG,
        'app-link.py',
        'app.py',
        'loop',
        'notes.txt',
        'outside',
        'run.sh',
        'src/lib/util.py',
        'src/up',
        'svc/.dstack.yml',
      ].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
    );
  });

  it('reads the working tree, keeps the exec bit and stores symlinks without following them', async () => {
    const d = await repo();
    const { entries, bytes } = await collectRepoFiles(path.join(d.dir, 'svc/.dstack.yml'));
    expect(text(entries, 'app.py')).toBe('print("v2")\n');
    expect(entries.find((e) => e.path === 'run.sh')).toMatchObject({ kind: 'file', mode: 0o755 });
    expect(entries.find((e) => e.path === 'app.py')).toMatchObject({ kind: 'file', mode: 0o644 });
    expect(entries.filter((e) => e.kind === 'symlink')).toEqual([
      { kind: 'symlink', path: 'app-link.py', target: 'app.py' },
      { kind: 'symlink', path: 'loop', target: 'loop' },
      { kind: 'symlink', path: 'outside', target: '/etc/passwd' },
      { kind: 'symlink', path: 'src/up', target: '..' },
    ]);
    expect(bytes).toBe(entries.reduce((s, e) => s + (e.kind === 'file' ? e.data.length : 0), 0));
  });

  it('drops tracked files matched by a nested .dstackignore', async () => {
    const d = await fresh();
    await d.git('init', '-q');
    await d.write('.dstack.yml', 'type: service\n');
    await d.write('sub/.dstackignore', '*.bin\n');
    await d.write('sub/w.bin', 'x');
    await d.write('w.bin', 'x');
    await d.git('add', '-A');
    await d.git('commit', '-qm', 'init');
    const files = await collectRepoFiles(path.join(d.dir, '.dstack.yml'));
    expect(paths(files.entries)).toEqual(['.dstack.yml', 'sub/.dstackignore', 'w.bin']);
  });
});

describe('collectRepoFiles outside git', () => {
  it('takes every file under the folder except .git/ and .dstackignore matches', async () => {
    const d = await fresh();
    await d.write('.dstack.yml', 'type: service\n');
    await d.write('.dstackignore', 'cache/\n*.tmp\n');
    await d.write('.git/config', 'not a real repository\n');
    await d.write('a/b/c.txt', 'c\n');
    await d.write('cache/x', 'x\n');
    await d.write('scratch.tmp', 'x\n');
    await d.write('tool', '#!/bin/sh\n', 0o700);
    await d.link('a/loop', '../a');
    await d.link('self', 'self');
    const files = await collectRepoFiles(path.join(d.dir, '.dstack.yml'));
    expect(files.source).toBe('folder');
    expect(paths(files.entries)).toEqual(['.dstack.yml', '.dstackignore', 'a/b/c.txt', 'a/loop', 'self', 'tool']);
    expect(files.entries.find((e) => e.path === 'tool')).toMatchObject({ mode: 0o755 });
    expect(files.entries.find((e) => e.path === 'a/loop')).toEqual({ kind: 'symlink', path: 'a/loop', target: '../a' });
  });

  it('names an unreadable file in a UserError', async () => {
    const d = await fresh();
    await d.write('.dstack.yml', 'type: service\n');
    const locked = await d.write('locked.bin', 'x');
    // root reads anything, so the permission fault comes from a wrapper over the real filesystem
    const fs: RepoFs = {
      ...nodeRepoFs,
      readFile: (p) => (p === locked ? Promise.reject(Object.assign(new Error('denied'), { code: 'EACCES' })) : nodeRepoFs.readFile(p)),
    };
    const err = await collectRepoFiles(path.join(d.dir, '.dstack.yml'), { fs }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err).toMatchObject({ code: 'REPO_FILE_UNREADABLE' });
    expect((err as UserError).message).toContain(locked);
    expect((err as UserError).message).toContain('EACCES');
    expect((err as UserError).hint).toContain('.dstackignore');
  });
});

describe('size limit', () => {
  async function heavy(): Promise<TempDir> {
    const d = await fresh();
    await d.write('.dstack.yml', 'type: service\n');
    for (const [name, size] of [['w1.bin', 600], ['w2.bin', 500], ['w3.bin', 400], ['w4.bin', 300], ['w5.bin', 200], ['tiny.bin', 10]] as const) {
      await d.write(name, Buffer.alloc(size));
    }
    return d;
  }

  it('refuses a folder over the limit, naming the 5 largest files and the ignore file', async () => {
    const d = await heavy();
    const err = await collectRepoFiles(path.join(d.dir, '.dstack.yml'), { limits: { maxBytes: 1000 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    const { code, message, hint } = err as UserError;
    expect(code).toBe('REPO_TOO_LARGE');
    for (const f of ['w1.bin', 'w2.bin', 'w3.bin', 'w4.bin', 'w5.bin']) expect(message).toContain(f);
    expect(message).not.toContain('tiny.bin');
    expect(message.indexOf('w1.bin')).toBeLessThan(message.indexOf('w5.bin'));
    expect(hint).toContain(path.join(d.dir, '.dstackignore'));
    expect(hint).toContain('DSTACK_REPO_SIZE_LIMIT');
  });

  it('reads the limit from DSTACK_REPO_SIZE_LIMIT, and passes under it', async () => {
    const d = await heavy();
    const cfg = path.join(d.dir, '.dstack.yml');
    await expect(collectRepoFiles(cfg, { env: { DSTACK_REPO_SIZE_LIMIT: '1k' } })).rejects.toMatchObject({ code: 'REPO_TOO_LARGE' });
    await expect(collectRepoFiles(cfg, { env: { DSTACK_REPO_SIZE_LIMIT: '1MB' } })).resolves.toMatchObject({ bytes: 2024 });
  });
});
