import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packForApply } from '../../../src/commands/apply-repo.js';
import { reposFor } from '../../../src/core/repo/index.js';
import { renderPlan } from '../../../src/ui/plan.js';
import { plan } from '../cli/fixtures.js';
import { tempDir, type TempDir } from './helpers.js';

const dirs: TempDir[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await d.cleanup();
});

describe('the packing step of apply', () => {
  it('packs into DSTACK_HOME/archives and the plan shows "Repo: <path> (N files, size)"', async () => {
    const project = await tempDir();
    const home = await tempDir();
    dirs.push(project, home);
    await project.write('service.dstack.yml', 'type: service\n');
    await project.write('app.py', 'print("hi")\n');
    const { repo, summary } = await packForApply(path.join(project.dir, 'service.dstack.yml'), { repos: [], files: [] }, { ...process.env, DSTACK_HOME: home.dir });
    expect(path.dirname(repo.archivePath)).toBe(path.join(home.dir, 'archives'));
    expect(repo.id).toMatch(/-[0-9a-f]{12}$/);
    expect(summary).toBe(`${project.dir} (2 files, 26 B)`);
    expect(renderPlan(plan(), { configPath: 'service.dstack.yml', repo: summary })).toMatch(/\n Repo\s+\S+ \(2 files, 26 B\)\n/);
    expect(renderPlan(plan(), { configPath: 'service.dstack.yml' })).not.toContain('Repo');
  });

  it('fails before anything is sent when the folder is over the size limit, naming the ignore file', async () => {
    const project = await tempDir();
    const home = await tempDir();
    dirs.push(project, home);
    await project.write('service.dstack.yml', 'type: service\n');
    await project.write('weights.bin', Buffer.alloc(4096));
    const err = await packForApply(path.join(project.dir, 'service.dstack.yml'), {}, { ...process.env, DSTACK_HOME: home.dir, DSTACK_REPO_SIZE_LIMIT: '1KB' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'REPO_TOO_LARGE', message: expect.stringContaining('weights.bin'), hint: expect.stringContaining('.dstackignore') });
  });

  it('-P/--repo packs another folder instead; --no-repo packs only `files:`; conflicting repo flags are named', async () => {
    const project = await tempDir();
    const other = await tempDir();
    const home = await tempDir();
    dirs.push(project, other, home);
    await project.write('service.dstack.yml', 'type: service\n');
    await project.write('app.py', 'print("hi")\n');
    await project.write('extra.txt', 'x');
    await other.write('main.py', 'print("other")\n');
    const env = { ...process.env, DSTACK_HOME: home.dir };
    const config = path.join(project.dir, 'service.dstack.yml');

    const fromOther = await packForApply(config, {}, env, { repo: other.dir });
    expect(fromOther.summary).toBe(`${other.dir} (1 files, 15 B)`);
    const none = await packForApply(config, { files: [{ local_path: 'extra.txt', path: '/extra.txt' }] }, env, { 'no-repo': true });
    expect(none.summary).toBe('none (--no-repo) (1 files, 1 B)');
    expect(none.repo.sha256).not.toBe(fromOther.repo.sha256);

    await expect(packForApply(config, { repos: [{ local_path: '.', path: '.', if_exists: 'error' }] }, env, { 'no-repo': true })).rejects.toMatchObject({
      code: 'REPO_FLAGS',
      message: `--no-repo conflicts with \`repos:\` in ${config}`,
    });
    await expect(packForApply(config, {}, env, { 'repo-branch': 'main' })).rejects.toMatchObject({ code: 'REPO_FLAGS', message: expect.stringContaining('need a git URL') });
    await expect(packForApply(config, {}, env, { repo: other.dir, 'repo-hash': 'abc' })).rejects.toMatchObject({ code: 'REPO_FLAGS', message: expect.stringContaining(other.dir) });
  });

  it('-P with a git URL and --repo-branch/--repo-hash replace the configuration\'s `repos:`', () => {
    const fromConfig = [{ url: 'https://example.com/a.git', path: '.', if_exists: 'error' as const }];
    expect(reposFor(fromConfig, {}, 'svc.yml')).toEqual(fromConfig);
    expect(reposFor(fromConfig, { 'repo-branch': 'dev' }, 'svc.yml')).toEqual([{ ...fromConfig[0], branch: 'dev' }]);
    expect(reposFor(fromConfig, { repo: 'git@example.com:b/c.git', 'repo-hash': 'abc123' }, 'svc.yml')).toEqual([
      { url: 'git@example.com:b/c.git', path: '.', if_exists: 'error', hash: 'abc123' },
    ]);
    expect(reposFor([], { repo: '../other' }, 'svc.yml')).toEqual([{ local_path: '../other', path: '.', if_exists: 'error' }]);
    expect(reposFor([], {}, 'svc.yml')).toEqual([]);
  });
});
