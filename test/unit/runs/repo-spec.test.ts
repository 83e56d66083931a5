import { describe, expect, it } from 'vitest';
import { containerPath, withRepo, type SpecTemplate } from '../../../src/core/runs/index.js';
import { serviceConfig } from '../../helpers/configs.js';

const base = { project: 'main', runName: 's', commands: [], env: { A: '1' }, port: 8000 } as unknown as SpecTemplate;
const repo = { sha256: 'a'.repeat(64), files: 3, bytes: 100, archivePath: '/x.tar.gz', id: 'proj-123' };

describe('withRepo', () => {
  it('leaves a spec without a repo untouched', () => {
    expect(withRepo(base, serviceConfig(), undefined)).toBe(base);
  });

  it('mounts at /workflow, works there, and sets the dstack env', () => {
    const s = withRepo(base, serviceConfig(), repo);
    expect(s.repo).toEqual({ sha256: repo.sha256, dir: '/workflow', files: [] });
    expect(s.workingDir).toBe('/workflow');
    expect(s.env).toEqual({ DSTACK_REPO_ID: 'proj-123', DSTACK_REPO_DIR: '/workflow', DSTACK_WORKING_DIR: '/workflow', A: '1' });
  });

  it('resolves `repos[0].path` against /workflow and files against the working directory', () => {
    const config = serviceConfig({ repos: ['.:src'], files: ['cfg.yml', 'x:/etc/x', 'netrc:~/.netrc'] });
    const s = withRepo({ ...base, workingDir: '/workflow/app' }, config, repo);
    expect(s.repo?.dir).toBe('/workflow/src');
    expect(s.repo?.files).toEqual([
      { source: '0', target: '/workflow/app/cfg.yml' },
      { source: '1', target: '/etc/x' },
      { source: '2', target: '/root/.netrc' },
    ]);
    expect(s.workingDir).toBe('/workflow/app');
  });

  it('container paths', () => {
    expect(containerPath('.', '/workflow')).toBe('/workflow');
    expect(containerPath('../x', '/workflow/a')).toBe('/workflow/x');
    expect(containerPath('~', '/workflow')).toBe('/root');
  });
});
