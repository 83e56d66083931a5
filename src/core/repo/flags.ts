/**
 * dstack's repo flags of `apply` (dstack-notes §6.1): `-P/--repo` (a folder or git URL) with `--repo-branch` /
 * `--repo-hash`, or `--no-repo`. They decide which repo `packSource` packs; the command line replaces `repos:`.
 */
import { UserError } from '../errors.js';
import { isRepoUrl, type RepoSpec } from '../model/index.js';

export interface RepoFlags {
  repo?: string | undefined;
  'repo-branch'?: string | undefined;
  'repo-hash'?: string | undefined;
  'no-repo'?: boolean | undefined;
}

/** The `repos:` to pack for these flags, or an error naming the conflict (before anything is packed). */
export function reposFor(configRepos: readonly RepoSpec[], flags: RepoFlags, configPath: string): RepoSpec[] {
  const pinned = flags['repo-branch'] !== undefined || flags['repo-hash'] !== undefined;
  if (flags['no-repo']) {
    if (flags.repo !== undefined || configRepos.length > 0) {
      throw new UserError('REPO_FLAGS', `--no-repo conflicts with ${flags.repo !== undefined ? '-P/--repo' : `\`repos:\` in ${configPath}`}`, {
        hint: 'Drop --no-repo, or the repo it conflicts with.',
      });
    }
    return [];
  }
  const base: RepoSpec | undefined =
    flags.repo !== undefined ? { ...(isRepoUrl(flags.repo) ? { url: flags.repo } : { local_path: flags.repo }), path: '.', if_exists: 'error' } : configRepos[0];
  if (pinned && base?.url === undefined) {
    throw new UserError(
      'REPO_FLAGS',
      base ? `--repo-branch and --repo-hash apply to a git URL, not the folder ${base.local_path ?? ''}`.trimEnd() : '--repo-branch and --repo-hash need a git URL: pass it with -P/--repo (or set `repos:` with a `url`)',
    );
  }
  if (!base) return [];
  return [
    {
      ...base,
      ...(flags['repo-branch'] !== undefined ? { branch: flags['repo-branch'] } : {}),
      ...(flags['repo-hash'] !== undefined ? { hash: flags['repo-hash'] } : {}),
    },
  ];
}
