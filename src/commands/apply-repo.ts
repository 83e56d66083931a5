/**
 * The packing step of `dstack apply` (issue 8): the repo and `files:` of a service configuration become one
 * archive in DSTACK_HOME/archives before anything is sent to the daemon, so every error (over the size limit,
 * an unreadable file, a `files:` path that does not exist, a failed clone) stops the apply before it submits.
 */
import type { RepoInfo } from '../core/api.js';
import { UserError } from '../core/errors.js';
import { resolveHome } from '../core/home/paths.js';
import type { FileMapping, RepoSpec } from '../core/model/index.js';
import { formatBytes, packSource } from '../core/repo/index.js';

export interface ApplyRepo {
  repo: RepoInfo;
  /** The plan's line: `<path> (N files, X MB)`. */
  summary: string;
}

/** dstack's repo flags of `apply`: `-P/--repo` (a folder or git URL) with `--repo-branch`/`--repo-hash`, or `--no-repo`. */
export interface RepoFlags {
  repo?: string | undefined;
  'repo-branch'?: string | undefined;
  'repo-hash'?: string | undefined;
  'no-repo'?: boolean | undefined;
}

const isGitUrl = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s) || /^[\w.-]+@[\w.-]+:/.test(s);

/** The repo to pack: `-P` replaces the configuration's `repos:` (dstack: the command line wins). */
export function reposFor(configRepos: readonly RepoSpec[], flags: RepoFlags): RepoSpec[] {
  if ((flags['repo-branch'] !== undefined || flags['repo-hash'] !== undefined) && flags.repo === undefined && !configRepos[0]?.url) {
    throw new UserError('REPO_FLAGS', '--repo-branch and --repo-hash need a git URL: pass it with -P/--repo (or set `repos:` with a `url`)');
  }
  const base: RepoSpec | undefined =
    flags.repo !== undefined
      ? { ...(isGitUrl(flags.repo) ? { url: flags.repo } : { local_path: flags.repo }), path: '.', if_exists: 'error' }
      : configRepos[0];
  if (!base) return [];
  if ((flags['repo-branch'] !== undefined || flags['repo-hash'] !== undefined) && base.url === undefined) {
    throw new UserError('REPO_FLAGS', `--repo-branch and --repo-hash apply to a git URL, not the folder ${base.local_path ?? ''}`.trimEnd());
  }
  return [
    {
      ...base,
      ...(flags['repo-branch'] !== undefined ? { branch: flags['repo-branch'] } : {}),
      ...(flags['repo-hash'] !== undefined ? { hash: flags['repo-hash'] } : {}),
    },
  ];
}

export async function packForApply(configPath: string, config: unknown, env: NodeJS.ProcessEnv, flags: RepoFlags = {}): Promise<ApplyRepo> {
  const c = config as { repos?: RepoSpec[]; files?: FileMapping[] };
  if (flags['no-repo'] && (flags.repo !== undefined || (c.repos?.length ?? 0) > 0)) {
    throw new UserError('REPO_FLAGS', `--no-repo conflicts with ${flags.repo !== undefined ? '-P/--repo' : `\`repos:\` in ${configPath}`}`, {
      hint: 'Drop --no-repo, or the repo it conflicts with.',
    });
  }
  const repos = reposFor(c.repos ?? [], flags);
  const packed = await packSource({ configPath, repos, files: c.files ?? [], archivesDir: resolveHome(env).archivesDir, env, noRepo: flags['no-repo'] === true });
  const repo: RepoInfo = { sha256: packed.sha256, files: packed.files, bytes: packed.bytes, archivePath: packed.archivePath, id: packed.id };
  return { repo, summary: `${packed.source} (${packed.files} files, ${formatBytes(packed.contentBytes)})` };
}
