import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packForApply } from '../../../src/commands/apply-repo.js';
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
});
