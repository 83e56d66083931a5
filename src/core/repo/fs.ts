import { lstatSync, readFileSync, readdirSync, readlinkSync, realpathSync, type Stats } from 'node:fs';

/** The filesystem calls the collector makes; tests pass a wrapper to simulate faults root cannot hit (EACCES). */
export interface RepoFs {
  lstat(path: string): Promise<Stats>;
  readFile(path: string): Promise<Buffer>;
  readlink(path: string): Promise<string>;
  readdir(path: string): Promise<string[]>;
  realpath(path: string): Promise<string>;
}

/**
 * Synchronous calls behind the async interface: only the CLI collects, once per apply, and thousands of small
 * files read through fs/promises (open, fstat, read, close: four thread-pool trips each) took several times longer.
 */
export const nodeRepoFs: RepoFs = {
  lstat: async (p) => lstatSync(p),
  readFile: async (p) => readFileSync(p),
  readlink: async (p) => readlinkSync(p),
  readdir: async (p) => readdirSync(p),
  realpath: async (p) => realpathSync(p),
};
