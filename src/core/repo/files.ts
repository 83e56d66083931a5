/**
 * The config's `files:` (dstack-notes §2.2): each `local[:container]` mapping becomes archive entries under
 * `.dstack-files/<index>` (REPO_FILES_DIR), which the agent places at the container path. Local paths expand `~`
 * and are relative to the configuration's folder; each file may be at most 2 MB (dstack's default), changed with
 * DSTACK_FILE_SIZE_LIMIT. A folder is taken whole, its symlinks kept as links; the mapped path itself is
 * followed, so a symlink loop there is an error.
 */
import { lstat, readFile, readdir, readlink, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { UserError } from '../errors.js';
import { REPO_FILES_DIR } from '../model/agent-constants.js';
import type { RepoEntry } from './collect.js';
import { formatBytes, parseSize } from './limits.js';

export const DEFAULT_FILE_SIZE_LIMIT = 2 * 1024 * 1024;
export const FILE_SIZE_LIMIT_ENV = 'DSTACK_FILE_SIZE_LIMIT';

export interface FileMapping {
  local_path: string;
  path: string;
}

export function expandHome(p: string, home = homedir()): string {
  return p === '~' ? home : p.startsWith('~/') ? path.join(home, p.slice(2)) : p;
}

/** Archive entries for every mapping, in order (`.dstack-files/0`, `.dstack-files/1`, …). */
export async function collectFileMappings(files: readonly FileMapping[], configDir: string, env: NodeJS.ProcessEnv): Promise<RepoEntry[]> {
  const limit = env[FILE_SIZE_LIMIT_ENV] ? (parseSize(env[FILE_SIZE_LIMIT_ENV]) ?? DEFAULT_FILE_SIZE_LIMIT) : DEFAULT_FILE_SIZE_LIMIT;
  const out: RepoEntry[] = [];
  for (const [i, f] of files.entries()) {
    const local = path.resolve(configDir, expandHome(f.local_path));
    const key = `files[${i}] (${f.local_path})`;
    const st = await stat(local).catch((e: unknown) => {
      throw fsError(e, key, local);
    });
    const base = `${REPO_FILES_DIR}/${i}`;
    if (st.isDirectory()) await walk(local, base, key, limit, out);
    else if (st.isFile()) out.push(await readOne(local, base, key, limit, st.size, st.mode));
    else throw new UserError('FILES_NOT_A_FILE', `${key}: ${local} is neither a file nor a folder`);
  }
  return out;
}

async function walk(dir: string, base: string, key: string, limit: number, out: RepoEntry[]): Promise<void> {
  for (const name of (await readdir(dir)).sort()) {
    const abs = path.join(dir, name);
    const rel = `${base}/${name}`;
    const st = await lstat(abs);
    if (st.isSymbolicLink()) out.push({ kind: 'symlink', path: rel, target: await readlink(abs) });
    else if (st.isDirectory()) await walk(abs, rel, key, limit, out);
    else if (st.isFile()) out.push(await readOne(abs, rel, key, limit, st.size, st.mode));
  }
}

async function readOne(abs: string, rel: string, key: string, limit: number, size: number, mode: number): Promise<RepoEntry> {
  if (size > limit) {
    throw new UserError('FILE_TOO_LARGE', `${key}: ${abs} is ${formatBytes(size)}, over the ${formatBytes(limit)} limit for \`files\``, {
      hint: `Put large files in the repo folder or a volume, or raise the limit with ${FILE_SIZE_LIMIT_ENV}.`,
    });
  }
  const data = await readFile(abs).catch((e: unknown) => {
    throw fsError(e, key, abs);
  });
  return { kind: 'file', path: rel, mode: (mode & 0o111) !== 0 ? 0o755 : 0o644, data };
}

function fsError(e: unknown, key: string, abs: string): UserError {
  const code = (e as { code?: string }).code;
  if (code === 'ENOENT') return new UserError('FILES_PATH_NOT_FOUND', `${key}: ${abs} does not exist`, { hint: 'Fix the local path in `files:` (relative paths start at the configuration\'s folder).', cause: e });
  if (code === 'ELOOP') return new UserError('SYMLINK_LOOP', `${key}: ${abs} is a symlink loop`, { cause: e });
  return new UserError('REPO_FILE_UNREADABLE', `${key}: cannot read ${abs} (${code ?? 'unknown error'})`, { cause: e });
}
