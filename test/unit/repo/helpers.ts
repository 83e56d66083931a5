import { mkdir, mkdtemp, rm, symlink, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

export interface TempDir {
  dir: string;
  write(rel: string, content: string | Buffer, mode?: number): Promise<string>;
  link(rel: string, target: string): Promise<void>;
  git(...args: string[]): Promise<string>;
  cleanup(): Promise<void>;
}

export async function tempDir(prefix = 'dstack-repo-'): Promise<TempDir> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return {
    dir,
    async write(rel, content, mode) {
      const abs = path.join(dir, rel);
      await mkdir(path.dirname(abs), { recursive: true });
      await writeFile(abs, content);
      if (mode !== undefined) await chmod(abs, mode);
      return abs;
    },
    async link(rel, target) {
      const abs = path.join(dir, rel);
      await mkdir(path.dirname(abs), { recursive: true });
      await symlink(target, abs);
    },
    async git(...args) {
      const env = { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
      const identity = ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'init.defaultBranch=main'];
      const r = await execa('git', [...identity, ...args], { cwd: dir, env });
      return r.stdout;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export async function tarList(archive: string): Promise<string[]> {
  const r = await execa('tar', ['-tzf', archive]);
  return r.stdout.split('\n').filter((l) => l !== '');
}

export const paths = (entries: { path: string }[]) => entries.map((e) => e.path);
