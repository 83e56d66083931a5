/**
 * The packing step of `dstack apply` (issue 8): the repo and `files:` of a service configuration become one
 * archive in DSTACK_HOME/archives before anything is sent to the daemon, so every error (over the size limit,
 * an unreadable file, a `files:` path that does not exist, a failed clone) stops the apply before it submits.
 */
import type { RepoInfo } from '../core/api.js';
import { resolveHome } from '../core/home/paths.js';
import type { FileMapping, RepoSpec } from '../core/model/index.js';
import { formatBytes, packSource, reposFor, type RepoFlags } from '../core/repo/index.js';

export interface ApplyRepo {
  repo: RepoInfo;
  /** The plan's line: `<path> (N files, X MB)`. */
  summary: string;
  /** Why less than the folder travels (the home folder outside git). */
  notice?: string;
}

export async function packForApply(configPath: string, config: unknown, env: NodeJS.ProcessEnv, flags: RepoFlags = {}): Promise<ApplyRepo> {
  const c = config as { repos?: RepoSpec[]; files?: FileMapping[] };
  const repos = reposFor(c.repos ?? [], flags, configPath);
  const packed = await packSource({ configPath, repos, files: c.files ?? [], archivesDir: resolveHome(env).archivesDir, env, noRepo: flags['no-repo'] === true, dstackHome: resolveHome(env).home });
  const repo: RepoInfo = { sha256: packed.sha256, files: packed.files, bytes: packed.bytes, archivePath: packed.archivePath, id: packed.id };
  const summary = `${packed.source} (${packed.files} files, ${formatBytes(packed.contentBytes)})`;
  return { repo, summary, ...(packed.notice !== undefined ? { notice: packed.notice } : {}) };
}
