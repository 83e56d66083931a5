/**
 * `dstack init` (issue 8): records the repo of a folder in DSTACK_HOME/repos.json (0600, written atomically):
 * its root (the git top level, else the folder), the DSTACK_REPO_ID replicas get, and the git remote if any.
 * Running it again for the same repo changes nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, realpath, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { repoId } from './source.js';

const RepoRecord = z.object({ path: z.string(), id: z.string(), remote: z.string().optional() });
export type RepoRecord = z.infer<typeof RepoRecord>;
const ReposFile = z.object({ version: z.literal(1), repos: z.array(RepoRecord) });

export async function initRepo(folder: string, home: string): Promise<{ record: RepoRecord; changed: boolean }> {
  const dir = await realpath(folder);
  const git = async (args: string[]) => {
    const r = await execa('git', args, { cwd: dir, reject: false }).catch(() => undefined);
    return r && r.exitCode === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : undefined;
  };
  const root = (await git(['rev-parse', '--show-toplevel'])) ?? dir;
  const remote = await git(['config', '--get', 'remote.origin.url']);
  const record: RepoRecord = { path: root, id: repoId(remote ?? root), ...(remote !== undefined ? { remote } : {}) };
  const file = path.join(home, 'repos.json');
  const current = await readRepos(file);
  const existing = current.repos.find((r) => r.path === root);
  if (existing && JSON.stringify(existing) === JSON.stringify(record)) return { record, changed: false };
  const repos = [...current.repos.filter((r) => r.path !== root), record];
  await mkdir(home, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ version: 1, repos }, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
  return { record, changed: true };
}

async function readRepos(file: string): Promise<z.infer<typeof ReposFile>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return { version: 1, repos: [] };
  }
  const parsed = ReposFile.safeParse((() => { try { return JSON.parse(text) as unknown; } catch { return undefined; } })());
  if (!parsed.success) throw new UserError('INVALID_REPOS_FILE', `${file} is not a valid repos file`, { hint: 'Delete it and run `dstack init` again.' });
  return parsed.data;
}
