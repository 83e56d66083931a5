import { readFile, realpath } from 'node:fs/promises';
import { execa } from 'execa';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { collectFileMappings, packSource, repoId } from '../../../src/core/repo/index.js';
import { tarList, tempDir, type TempDir } from './helpers.js';

const dirs: TempDir[] = [];
const fresh = async () => {
  const d = await tempDir();
  dirs.push(d);
  return d;
};
afterEach(async () => {
  for (const d of dirs.splice(0)) await d.cleanup();
});
const env = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };

describe('files: mappings', () => {
  it('packs files and folders under .dstack-files/<index>, relative to the config folder, ~ expanded', async () => {
    const d = await fresh();
    await d.write('cfg/a.txt', 'a');
    await d.write('cfg/dir/b.txt', 'b');
    const entries = await collectFileMappings(
      [{ local_path: 'a.txt', path: '/x/a.txt' }, { local_path: 'dir', path: 'd' }],
      path.join(d.dir, 'cfg'),
      env,
    );
    expect(entries.map((e) => e.path)).toEqual(['.dstack-files/0', '.dstack-files/1/b.txt']);
  });

  it('names the mapping when the local path does not exist', async () => {
    const d = await fresh();
    await expect(collectFileMappings([{ local_path: 'nope.txt', path: '/n' }], d.dir, env)).rejects.toMatchObject({
      code: 'FILES_PATH_NOT_FOUND',
      message: expect.stringContaining('files[0] (nope.txt)'),
    });
  });

  it('reports a symlink loop', async () => {
    const d = await fresh();
    await d.link('loop-a', 'loop-b');
    await d.link('loop-b', 'loop-a');
    await expect(collectFileMappings([{ local_path: 'loop-a', path: '/l' }], d.dir, env)).rejects.toMatchObject({ code: 'SYMLINK_LOOP' });
  });

  it('refuses a file over the per-file limit (2 MB by default, DSTACK_FILE_SIZE_LIMIT)', async () => {
    const d = await fresh();
    await d.write('big.bin', Buffer.alloc(2 * 1024 * 1024 + 1));
    await expect(collectFileMappings([{ local_path: 'big.bin', path: '/b' }], d.dir, env)).rejects.toMatchObject({ code: 'FILE_TOO_LARGE' });
    await d.write('small.bin', Buffer.alloc(2048));
    await expect(collectFileMappings([{ local_path: 'small.bin', path: '/s' }], d.dir, { ...env, DSTACK_FILE_SIZE_LIMIT: '1KB' })).rejects.toMatchObject({
      code: 'FILE_TOO_LARGE',
    });
  });
});

describe('packSource', () => {
  it('packs the config folder plus files into one archive; the same content gives the same sha256 and id', async () => {
    const d = await fresh();
    const out = await fresh();
    await d.write('service.dstack.yml', 'type: service\n');
    await d.write('app.py', 'print(1)\n');
    await d.write('conf.txt', 'c');
    const o = { configPath: path.join(d.dir, 'service.dstack.yml'), repos: [], files: [{ local_path: 'conf.txt', path: '/c' }], archivesDir: out.dir, env };
    const first = await packSource(o);
    expect(await tarList(first.archivePath)).toEqual(['.dstack-files/', '.dstack-files/0', 'app.py', 'conf.txt', 'service.dstack.yml']);
    const again = await packSource(o);
    expect(again.sha256).toBe(first.sha256);
    expect(again.id).toBe(first.id);
    await d.write('app.py', 'print(2)\n');
    expect((await packSource(o)).sha256).not.toBe(first.sha256);
  });

  it('packs a `repos:` local path instead of the config folder', async () => {
    const d = await fresh();
    const out = await fresh();
    await d.write('cfg/service.dstack.yml', 'type: service\n');
    await d.write('code/main.py', 'x');
    const p = await packSource({ configPath: path.join(d.dir, 'cfg/service.dstack.yml'), repos: [{ local_path: '../code', path: '.', if_exists: 'error' }], files: [], archivesDir: out.dir, env });
    expect(await tarList(p.archivePath)).toEqual(['main.py']);
    expect(p.source).toBe(path.join(d.dir, 'code'));
  });

  it('clones a `repos:` git URL at a branch or a commit and packs the clone', async () => {
    const src = await fresh();
    const out = await fresh();
    await src.git('init', '-q');
    await src.write('v.txt', 'one\n');
    await src.git('add', '.');
    await src.git('commit', '-qm', 'one');
    const first = (await src.git('rev-parse', 'HEAD')).trim();
    await src.write('v.txt', 'two\n');
    await src.git('commit', '-qam', 'two');
    const cfg = await fresh();
    await cfg.write('s.yml', 'type: service\n');
    const url = `file://${src.dir}`;
    const at = async (spec: { branch?: string; hash?: string }) => {
      const p = await packSource({ configPath: path.join(cfg.dir, 's.yml'), repos: [{ url, path: '.', if_exists: 'error', ...spec }], files: [], archivesDir: out.dir, env });
      const x = await tempDir();
      dirs.push(x);
      const { execa } = await import('execa');
      await execa('tar', ['-xzf', p.archivePath, '-C', x.dir]);
      return readFile(path.join(x.dir, 'v.txt'), 'utf8');
    };
    expect(await at({ branch: 'main' })).toBe('two\n');
    expect(await at({ hash: first })).toBe('one\n');
    await expect(at({ branch: 'nope' })).rejects.toMatchObject({ code: 'REPO_CLONE_FAILED' });
  });

  it('repo ids are stable and readable', () => {
    expect(repoId('ssh://root@10.77.0.11/srv/app.git')).toMatch(/^app-[0-9a-f]{12}$/);
    expect(repoId('/home/u/proj')).toBe(repoId('/home/u/proj'));
    expect(repoId('/home/u/proj')).not.toBe(repoId('/home/v/proj'));
  });
});

describe('what never travels', () => {
  it('never packs DSTACK_HOME when it lies in the packed folder, outside git and inside git', async () => {
    const d = await fresh();
    const out = await fresh();
    await d.write('app.py', 'print(1)');
    await d.write('service.dstack.yml', 'type: service');
    await d.write('.dstack/config.yml', 'token: admin-secret');
    await d.write('.dstack/archives/old.tar.gz', 'old');
    const packed = await packSource({ configPath: path.join(d.dir, 'service.dstack.yml'), repos: [], files: [], archivesDir: out.dir, env, dstackHome: path.join(d.dir, '.dstack') });
    expect(await tarList(packed.archivePath)).toEqual(['app.py', 'service.dstack.yml']);

    await execa('git', ['init', '-q'], { cwd: d.dir, env });
    const inGit = await packSource({ configPath: path.join(d.dir, 'service.dstack.yml'), repos: [], files: [], archivesDir: out.dir, env, dstackHome: path.join(d.dir, '.dstack') });
    expect(inGit.source).toBe(await realpath(d.dir));
    expect(await tarList(inGit.archivePath)).toEqual(['app.py', 'service.dstack.yml']);
  });

  it('treats the home folder outside git as no repo, with a notice naming -P; -P packs it', async () => {
    const home = await fresh();
    const out = await fresh();
    await home.write('service.dstack.yml', 'type: service');
    await home.write('.ssh/id_ed25519', 'private key');
    const homeEnv = { ...env, HOME: home.dir };
    const none = await packSource({ configPath: path.join(home.dir, 'service.dstack.yml'), repos: [], files: [], archivesDir: out.dir, env: homeEnv });
    expect(none.source).toBe('none (home folder)');
    expect(none.files).toBe(0);
    expect(none.notice).toContain(`-P ${home.dir}`);

    const explicit = await packSource({
      configPath: path.join(home.dir, 'service.dstack.yml'),
      repos: [{ local_path: home.dir, path: '.', if_exists: 'error' }],
      files: [],
      archivesDir: out.dir,
      env: homeEnv,
    });
    expect(await tarList(explicit.archivePath)).toContain('.ssh/id_ed25519');
    expect(explicit.notice).toBeUndefined();
  });
});
