/**
 * What `dstack apply` uploads (issue 8): the repo (the configuration's folder or its git root; or the one
 * `repos:` entry) plus the `files:` mappings, packed into ONE content-addressed archive in DSTACK_HOME/archives.
 *
 * A `repos:` git URL is cloned here, on the machine of the CLI and the daemon, with the user's own git and
 * credentials (ssh keys, credential helpers, GIT_SSH_COMMAND), into a temp folder that is packed and deleted:
 * hosts then need neither network access to the git server nor the user's credentials, and the clone travels
 * like any repo. `branch` clones that branch; `hash` checks that commit out.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { UserError } from '../errors.js';
import type { RepoSpec } from '../model/run-base.js';
import { collectFolderFiles, comparePaths, type RepoFiles } from './collect.js';
import { collectFileMappings, expandHome, type FileMapping } from './files.js';
import { packRepo, type PackedRepo } from './pack.js';

export interface PackSourceOptions {
  configPath: string;
  repos: readonly RepoSpec[];
  files: readonly FileMapping[];
  archivesDir: string;
  env: NodeJS.ProcessEnv;
  /** `--no-repo`: only the `files:` mappings travel; /workflow starts empty otherwise. */
  noRepo?: boolean;
  /** DSTACK_HOME: never packed, wherever it lies. */
  dstackHome?: string;
}

export interface PackedSource extends PackedRepo {
  /** What was packed, for the plan: a folder, or the URL of a clone. */
  source: string;
  /** DSTACK_REPO_ID: derived from the git remote, else from the repo's root path (stable across applies). */
  id: string;
  /** Said to the user with the plan: why less than the folder travels. */
  notice?: string;
}

export async function packSource(o: PackSourceOptions): Promise<PackedSource> {
  const configDir = path.dirname(path.resolve(o.configPath));
  const spec = o.repos[0];
  const files = await collectFileMappings(o.files, configDir, o.env);
  if (o.noRepo) {
    const none: RepoFiles = { root: configDir, source: 'folder', entries: [], bytes: 0 };
    return { ...(await pack(none, files, o.archivesDir)), source: 'none (--no-repo)', id: repoId(`no-repo:${configDir}`) };
  }
  if (spec?.url !== undefined) {
    const clone = await mkdtemp(path.join(tmpdir(), 'dstack-clone-'));
    try {
      await cloneRepo(spec, clone, o.env);
      const repo = await collectFolderFiles(clone, { env: o.env });
      return { ...(await pack(repo, files, o.archivesDir)), source: spec.url, id: repoId(spec.url) };
    } finally {
      await rm(clone, { recursive: true, force: true });
    }
  }
  const folder = spec?.local_path !== undefined ? path.resolve(configDir, expandHome(spec.local_path)) : configDir;
  const exclude = o.dstackHome !== undefined ? [o.dstackHome] : [];
  if (spec === undefined && (await holdsHomeOutsideGit(folder, o.env))) {
    // A configuration kept in the home folder would pack the whole home (keys, tokens, every project).
    const none: RepoFiles = { root: folder, source: 'folder', entries: [], bytes: 0 };
    const notice = `${folder} is your home folder (or holds it) and not in git: no repo is packed. Pass -P ${folder} to pack it anyway, or move the configuration into a project folder.`;
    return { ...(await pack(none, files, o.archivesDir)), source: 'none (home folder)', id: repoId(`no-repo:${folder}`), notice };
  }
  const repo = await collectFolderFiles(folder, { env: o.env, exclude });
  const remote = repo.source === 'git' ? await gitRemote(repo.root) : undefined;
  return { ...(await pack(repo, files, o.archivesDir)), source: repo.root, id: repoId(remote ?? repo.root) };
}

/** The folder is $HOME or one of its parents, and no git repository holds it. */
async function holdsHomeOutsideGit(folder: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const home = env.HOME ?? homedir();
  const real = async (p: string) => realpath(p).catch(() => path.resolve(p));
  const rel = path.relative(await real(folder), await real(home));
  if (rel.startsWith('..') || path.isAbsolute(rel)) return false;
  const git = await execa('git', ['rev-parse', '--show-toplevel'], { cwd: folder, reject: false }).catch(() => undefined);
  return !(git && git.exitCode === 0);
}

async function pack(repo: RepoFiles, files: RepoFiles['entries'], outDir: string): Promise<PackedRepo> {
  const entries = [...repo.entries, ...files].sort((a, b) => comparePaths(a.path, b.path));
  return packRepo({ entries }, { outDir });
}

async function cloneRepo(spec: RepoSpec, dir: string, env: NodeJS.ProcessEnv): Promise<void> {
  const url = spec.url as string;
  const branch = spec.branch !== undefined ? ['--branch', spec.branch, '--single-branch'] : [];
  const git = (args: string[]) => execa('git', args, { env, extendEnv: false, reject: false, stdin: 'ignore' });
  const cloned = await git(['clone', '--quiet', ...branch, '--', url, dir]);
  if (cloned.exitCode !== 0) {
    throw new UserError('REPO_CLONE_FAILED', `git clone ${url} failed: ${lastLine(cloned.stderr)}`, {
      hint: 'Check `repos:` (url, branch) and that `git clone` of it works in this shell.',
    });
  }
  if (spec.hash !== undefined) {
    const checkout = await git(['-C', dir, 'checkout', '--quiet', '--detach', spec.hash]);
    if (checkout.exitCode !== 0) throw new UserError('REPO_CLONE_FAILED', `${url} has no commit ${spec.hash}: ${lastLine(checkout.stderr)}`);
  }
}

async function gitRemote(root: string): Promise<string | undefined> {
  const r = await execa('git', ['config', '--get', 'remote.origin.url'], { cwd: root, reject: false });
  return r.exitCode === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : undefined;
}

/** `<last path segment>-<12 hex of sha256(source)>`: readable, and stable for the same remote or folder. */
export function repoId(source: string): string {
  const name = source.replace(/\.git$/, '').replace(/[/\\:]+$/, '').split(/[/\\:]/).pop() || 'repo';
  const slug = name.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').slice(0, 40) || 'repo';
  return `${slug}-${createHash('sha256').update(source).digest('hex').slice(0, 12)}`;
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).pop() ?? 'no output';
}
