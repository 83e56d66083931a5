/**
 * Per-replica working copies of a code archive (issue 8): `<home>/workspaces/<replica id>/repo` holds the
 * extracted repo and `files/<n>` the config's `files:`. `prepare` turns a spec that names an archive into one
 * the runtimes run as is: for Docker, bind mounts of the repo at `repo.dir` (/workflow) and of each file outside
 * it; for plain processes, the host folder as the working directory (`/workflow/x` → `<repo>/x`). Files whose
 * target lies inside the repo dir are copied into the working copy, so no mount is nested in another.
 */
import { spawn } from 'node:child_process';
import { cp, mkdir, rename, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import type { ReplicaSpec } from '../../core/model/agent-api.js';
import { REPO_FILES_DIR } from '../../core/model/agent-constants.js';
import { AgentError } from '../errors.js';
import type { RuntimeKind } from '../replicas/runtime.js';
import type { ArchiveStore } from './store.js';

export class Workspaces {
  readonly root: string;

  constructor(home: string, private readonly store: ArchiveStore) {
    this.root = path.join(home, 'workspaces');
  }

  dir(id: string): string {
    return path.join(this.root, id);
  }

  async prepare(spec: ReplicaSpec, kind: RuntimeKind): Promise<ReplicaSpec> {
    const repo = spec.repo;
    if (!repo) return spec;
    const ws = this.dir(spec.id);
    const repoDir = path.join(ws, 'repo');
    const archive = this.store.path(repo.sha256);
    if (!(await this.store.has(repo.sha256))) {
      throw new AgentError('REPO_ARCHIVE_MISSING', `code archive ${repo.sha256} was not uploaded to this host (PUT /api/archives/${repo.sha256} first)`, 400);
    }
    await rm(ws, { recursive: true, force: true });
    await mkdir(repoDir, { recursive: true, mode: 0o755 });
    // Marks the archive as used now, so pruning (by age) spares archives that replicas keep starting from.
    await utimes(archive, new Date(), new Date()).catch(() => undefined);
    const failure = await untar(archive, repoDir);
    if (failure !== undefined) {
      await rm(ws, { recursive: true, force: true });
      const detail = failure.split('\n').slice(-3).join(' ').trim();
      throw new AgentError('REPO_EXTRACT_FAILED', `could not extract code archive ${repo.sha256}: ${detail}`, 500);
    }
    const filesDir = path.join(ws, 'files');
    if (await exists(path.join(repoDir, REPO_FILES_DIR))) await rename(path.join(repoDir, REPO_FILES_DIR), filesDir);
    const volumes = [...spec.volumes];
    if (kind === 'docker') volumes.unshift({ hostPath: repoDir, containerPath: repo.dir, readOnly: false, create: false });
    for (const f of repo.files) {
      const source = path.join(filesDir, f.source);
      if (!(await exists(source))) throw new AgentError('REPO_EXTRACT_FAILED', `code archive ${repo.sha256} has no ${REPO_FILES_DIR}/${f.source} for ${f.target}`, 400);
      const inside = within(repo.dir, f.target);
      if (inside !== undefined) {
        await cp(source, path.join(repoDir, inside), { recursive: true, force: true });
      } else if (kind === 'docker') {
        volumes.push({ hostPath: source, containerPath: f.target, readOnly: false, create: false });
      } else {
        throw new AgentError('FILES_TARGET_UNSUPPORTED', `files: ${f.target} is outside ${repo.dir}; plain processes (no Docker on this host) only get files inside it`, 400);
      }
    }
    if (kind === 'docker') return { ...spec, volumes };
    const cwd = spec.workingDir ?? repo.dir;
    const rel = within(repo.dir, cwd);
    return rel === undefined ? spec : { ...spec, workingDir: path.join(repoDir, rel) };
  }

  async remove(id: string): Promise<void> {
    await rm(this.dir(id), { recursive: true, force: true });
  }
}

/**
 * Extracts a .tar.gz with the host's tar; resolves with tar's stderr (or why it could not run) when it failed. Plain
 * child_process rather than execa: execa is ~200 KiB of the single-file agent, held in memory by every idle agent.
 */
function untar(archive: string, dir: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn('tar', ['-xzf', archive, '-C', dir, '--no-same-owner'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-8192)));
    child.once('error', (e) => resolve(stderr || `tar: ${e.message}`));
    child.once('close', (code, signal) => resolve(code === 0 ? undefined : stderr || `tar exited with ${code ?? signal}`));
  });
}

/** `target` relative to `dir` when it is `dir` itself or below it; undefined otherwise. */
function within(dir: string, target: string): string | undefined {
  const rel = path.posix.relative(dir, path.posix.normalize(target));
  return rel === '' ? '.' : rel.startsWith('..') || path.posix.isAbsolute(rel) ? undefined : rel;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}
