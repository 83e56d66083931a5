/**
 * Picks the files that go with a service (DESIGN.md §4): inside a git repository, the tracked files plus the
 * untracked ones git does not ignore, read from the working tree so uncommitted edits go along; outside git,
 * every file under the configuration's folder except `.git/`. `.dstackignore` (gitignore syntax) drops more.
 * Symlinks are kept as links and never followed, so a loop or a link leading out of the folder cannot pull in
 * anything else.
 */
import type { Stats } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { UserError } from '../errors.js';
import { nodeRepoFs, type RepoFs } from './fs.js';
import { IgnoreTree } from './ignore.js';
import { formatBytes, resolveSizeLimit } from './limits.js';

export const IGNORE_FILE = '.dstackignore';

export type RepoEntry =
  | { kind: 'file'; path: string; mode: number; data: Buffer }
  | { kind: 'symlink'; path: string; target: string };

export interface RepoFiles {
  /** Absolute root of the archive: the git top level, or the configuration's folder. */
  root: string;
  source: 'git' | 'folder';
  /** Sorted by path; paths are relative, `/`-separated. */
  entries: RepoEntry[];
  /** Sum of file sizes, before compression. */
  bytes: number;
}

export interface CollectOptions {
  limits?: { maxBytes?: number };
  /**
   * Folders never packed, whatever git or .dstackignore say (DSTACK_HOME: the admin token, the state and earlier
   * archives must not travel to hosts when a configuration lives in a folder that holds it).
   */
  exclude?: readonly string[];
  env?: NodeJS.ProcessEnv;
  fs?: RepoFs;
}

interface Candidate {
  path: string;
  kind: 'file' | 'symlink';
  size: number;
  exec: boolean;
}

export async function collectRepoFiles(configPath: string, options: CollectOptions = {}): Promise<RepoFiles> {
  return collectFolderFiles(path.dirname(path.resolve(configPath)), options);
}

/** The same for a folder given directly (a `repos:` local path, a fresh clone). */
export async function collectFolderFiles(start: string, options: CollectOptions = {}): Promise<RepoFiles> {
  const fs = options.fs ?? nodeRepoFs;
  const maxBytes = resolveSizeLimit(options.limits?.maxBytes, options.env ?? process.env);
  const folder = await fs.realpath(path.resolve(start)).catch((e: unknown) => {
    throw new UserError('REPO_NOT_FOUND', `Cannot open the folder ${start} (${errno(e) ?? 'unknown error'})`, { cause: e });
  });
  const gitRoot = await findGitRoot(folder);
  const root = gitRoot ?? folder;
  const excluded = await excludedPrefixes(root, options.exclude ?? [], fs);
  const keep = (rel: string) => !excluded.some((x) => rel === x || rel.startsWith(`${x}/`));
  const candidates = (gitRoot ? await listGit(root, fs) : await walk(root, fs, keep)).filter((c) => keep(c.path));

  const bytes = candidates.reduce((sum, c) => sum + c.size, 0);
  if (bytes > maxBytes) throw tooLarge(root, candidates, bytes, maxBytes);

  const read = async (c: Candidate): Promise<RepoEntry | undefined> => {
    const abs = path.join(root, c.path);
    try {
      return c.kind === 'symlink'
        ? { kind: 'symlink', path: c.path, target: await fs.readlink(abs) }
        : { kind: 'file', path: c.path, mode: c.exec ? 0o755 : 0o644, data: await fs.readFile(abs) };
    } catch (e) {
      if (errno(e) === 'ENOENT') return undefined; // deleted between listing and reading
      throw new UserError('REPO_FILE_UNREADABLE', `Cannot read ${abs} (${errno(e) ?? 'unknown error'})`, {
        hint: `Fix its permissions, or add ${c.path} to ${path.join(root, IGNORE_FILE)}.`,
        cause: e,
      });
    }
  };
  const entries = (await mapLimited(candidates, READ_CONCURRENCY, read)).filter((e): e is RepoEntry => e !== undefined);
  entries.sort((a, b) => comparePaths(a.path, b.path));
  const total = entries.reduce((sum, e) => sum + (e.kind === 'file' ? e.data.length : 0), 0);
  return { root, source: gitRoot ? 'git' : 'folder', entries, bytes: total };
}

/** Reads in flight at once: one await per file in sequence made thousands of small files slow to collect. */
const READ_CONCURRENCY = 16;

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Byte order of the UTF-8 paths, so the archive does not depend on the locale. */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

async function findGitRoot(folder: string): Promise<string | undefined> {
  try {
    const r = await execa('git', ['rev-parse', '--show-toplevel'], { cwd: folder, reject: false });
    return r.exitCode === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : undefined;
  } catch {
    return undefined; // git is not installed: treat the folder as a plain folder
  }
}

async function listGit(root: string, fs: RepoFs): Promise<Candidate[]> {
  const r = await execa(
    'git',
    ['-c', 'core.quotepath=off', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    { cwd: root, stripFinalNewline: false },
  );
  // Unmerged paths are listed once per stage.
  const paths = [...new Set(r.stdout.split('\0').filter((p) => p !== ''))];
  const ignore = new IgnoreTree();
  for (const p of paths) {
    if (path.posix.basename(p) !== IGNORE_FILE) continue;
    const text = await readIgnoreFile(fs, path.join(root, p));
    if (text !== undefined) ignore.add(path.posix.dirname(p) === '.' ? '' : path.posix.dirname(p), text);
  }
  const kept = paths.filter((p) => !ignore.isIgnored(p, false));
  const found = await mapLimited(kept, READ_CONCURRENCY, (p) => candidate(fs, root, p));
  return found.filter((c): c is Candidate => c !== undefined);
}

/** The excluded folders that lie inside `root`, as root-relative `/`-separated paths. */
async function excludedPrefixes(root: string, exclude: readonly string[], fs: RepoFs): Promise<string[]> {
  const out: string[] = [];
  for (const x of exclude) {
    const real = await fs.realpath(path.resolve(x)).catch(() => path.resolve(x));
    const rel = path.relative(root, real);
    if (rel === '') throw new UserError('REPO_IS_DSTACK_HOME', `${root} is DSTACK_HOME itself; it is never packed`, { hint: 'Keep configurations outside DSTACK_HOME, or pass --no-repo.' });
    if (!rel.startsWith('..') && !path.isAbsolute(rel)) out.push(rel.split(path.sep).join('/'));
  }
  return out;
}

async function walk(root: string, fs: RepoFs, keep: (rel: string) => boolean = () => true): Promise<Candidate[]> {
  const ignore = new IgnoreTree();
  const out: Candidate[] = [];
  const visit = async (rel: string): Promise<void> => {
    const dir = path.join(root, rel);
    const text = await readIgnoreFile(fs, path.join(dir, IGNORE_FILE));
    if (text !== undefined) ignore.add(rel, text);
    const names = (await fs.readdir(dir)).sort(comparePaths).filter((name) => name !== '.git');
    const rels = names.map((name) => (rel === '' ? name : `${rel}/${name}`));
    // A file deleted between readdir and lstat (another process's temp file) is skipped, as in `candidate`.
    const stats = await mapLimited(rels, READ_CONCURRENCY, (p) => fs.lstat(path.join(root, p)).catch((e: unknown) => (errno(e) === 'ENOENT' ? undefined : Promise.reject(e))));
    for (const [i, p] of rels.entries()) {
      const st = stats[i];
      if (!st) continue;
      if (st.isDirectory()) {
        if (keep(p) && !ignore.isIgnored(p, true)) await visit(p);
      } else if (!ignore.isIgnored(p, false)) {
        const c = fromStat(p, st);
        if (c) out.push(c);
      }
    }
  };
  await visit('');
  return out;
}

/** A regular file or a symlink; anything else (a deleted tracked file, a submodule, a socket) is skipped. */
async function candidate(fs: RepoFs, root: string, rel: string): Promise<Candidate | undefined> {
  let st;
  try {
    st = await fs.lstat(path.join(root, rel));
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return undefined;
    throw e;
  }
  return fromStat(rel, st);
}

function fromStat(rel: string, st: Stats): Candidate | undefined {
  if (st.isSymbolicLink()) return { path: rel, kind: 'symlink', size: 0, exec: false };
  if (st.isFile()) return { path: rel, kind: 'file', size: st.size, exec: (st.mode & 0o111) !== 0 };
  return undefined;
}

async function readIgnoreFile(fs: RepoFs, file: string): Promise<string | undefined> {
  try {
    return (await fs.readFile(file)).toString('utf8');
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return undefined;
    throw new UserError('REPO_FILE_UNREADABLE', `Cannot read ${file} (${errno(e) ?? 'unknown error'})`, { cause: e });
  }
}

function tooLarge(root: string, files: Candidate[], bytes: number, limit: number): UserError {
  const largest = [...files].sort((a, b) => b.size - a.size || comparePaths(a.path, b.path)).slice(0, 5);
  const list = largest.map((f) => `  ${f.path} (${formatBytes(f.size)})`).join('\n');
  return new UserError(
    'REPO_TOO_LARGE',
    `The files in ${root} add up to ${formatBytes(bytes)}, over the ${formatBytes(limit)} limit. Largest files:\n${list}`,
    {
      hint: `List files the service does not need in ${path.join(root, IGNORE_FILE)} (gitignore syntax), or raise the limit with DSTACK_REPO_SIZE_LIMIT.`,
    },
  );
}

function errno(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}
