import { lstat, readFile, readdir, readlink, realpath } from 'node:fs/promises';
import type { Stats } from 'node:fs';

/** The filesystem calls the collector makes; tests pass a wrapper to simulate faults root cannot hit (EACCES). */
export interface RepoFs {
  lstat(path: string): Promise<Stats>;
  readFile(path: string): Promise<Buffer>;
  readlink(path: string): Promise<string>;
  readdir(path: string): Promise<string[]>;
  realpath(path: string): Promise<string>;
}

export const nodeRepoFs: RepoFs = {
  lstat: (p) => lstat(p),
  readFile: (p) => readFile(p),
  readlink: (p) => readlink(p),
  readdir: (p) => readdir(p),
  realpath: (p) => realpath(p),
};
