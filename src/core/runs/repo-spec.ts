/**
 * The code archive's part of a replica spec (issue 8, dstack-notes §2.2): the archive is extracted at the repo
 * dir (`/workflow`, or `repos[0].path` resolved against it), the working directory defaults to /workflow,
 * `files:` targets are absolute (relative ones start at the working directory, `~` is /root), and the
 * replica gets dstack's DSTACK_REPO_ID, DSTACK_REPO_DIR and DSTACK_WORKING_DIR.
 */
import path from 'node:path';
import type { RepoInfo } from '../api.js';
import type { ServiceConfig } from '../model/service.js';
import { WORKFLOW_DIR, type SpecTemplate } from './spec.js';

/** `/root` is the home of the default container user; `~` in container paths means it (as dstack's runner does). */
const CONTAINER_HOME = '/root';

export function containerPath(p: string, workingDir: string): string {
  if (p === '~' || p.startsWith('~/')) return path.posix.join(CONTAINER_HOME, p.slice(1));
  return path.posix.resolve(workingDir, p);
}

export function withRepo(spec: SpecTemplate, config: Pick<ServiceConfig, 'repos' | 'files'>, repo: RepoInfo | undefined): SpecTemplate {
  if (!repo) return spec;
  const workingDir = spec.workingDir ?? WORKFLOW_DIR;
  const dir = containerPath(config.repos[0]?.path ?? '.', WORKFLOW_DIR);
  const files = config.files.map((f, i) => ({ source: String(i), target: containerPath(f.path, workingDir) }));
  return {
    ...spec,
    workingDir,
    repo: { sha256: repo.sha256, dir, files },
    env: {
      DSTACK_REPO_ID: repo.id ?? repo.sha256.slice(0, 16),
      DSTACK_REPO_DIR: dir,
      DSTACK_WORKING_DIR: workingDir,
      ...spec.env,
    },
  };
}
