/**
 * The hot command paths (`validate`, `ps`) run from CommonJS bundles compiled with V8's code cache (issue 15):
 * Node 20 has no module compile cache, and parsing zod and yaml (~700 KiB) plus compiling the functions a command
 * runs was a third of `validate --json`. scripts/build.mjs writes dist/hot/<name>-<content hash>.cjs; the cache is
 * a 0600 file under the user's cache dir named after that file, the node version and the arch, so a rebuilt bundle
 * or another node never meets a stale cache (V8 itself only checks the source's length). A missing, foreign or
 * rejected cache costs only the compile: the bundle runs the same either way, and the cache is written after it ran.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { Script } from 'node:vm';

export interface HotBundle<T> {
  exports: T;
  /** Whether V8 took the cached code (else it compiled the source). */
  fromCache: boolean;
  /**
   * Writes the code cache when there was none or V8 rejected it. Called after the command ran, so the functions it
   * compiled on the way are in the cache too (what makes the next start fast, not just the top-level parse).
   */
  save(): void;
}

/** The CLI's cache dir, as scripts/sea-entry.cjs finds it (XDG_CACHE_HOME when absolute, else ~/.cache). */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'dstack', 'v8');
}

/** `validate-ABCD1234` → `validate-ABCD1234-v20.20.2-x64.v8`. */
function cacheFileName(bundle: string): string {
  return `${basename(bundle).replace(/\.c?js$/, '')}-${process.version}-${process.arch}.v8`;
}

/** The cached data, only from a plain file of ours that no one else can write (it becomes code we run). */
function readOwnCache(file: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const st = fstatSync(fd);
    if (!st.isFile() || (st.mode & 0o077) !== 0 || (process.getuid !== undefined && st.uid !== process.getuid())) return undefined;
    return readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Replaces the cache atomically (a concurrent run reads the old file or the new one) and drops older builds' caches. */
function writeCache(dir: string, name: string, data: Buffer): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  writeFileSync(tmp, data, { mode: 0o600 });
  renameSync(tmp, join(dir, name));
  const stem = name.replace(/-[^-]+-v\d[^-]*-[^-]+\.v8$/, '-');
  for (const entry of readdirSync(dir)) {
    if (entry !== name && entry.startsWith(stem) && entry.endsWith('.v8')) rmSync(join(dir, entry), { force: true });
  }
}

/** Runs the CommonJS bundle `file` (its require sees node's built-ins) and returns its exports. */
export function loadHot<T>(file: string, dir: string = codeCacheDir()): HotBundle<T> {
  const source = readFileSync(file, 'utf8');
  const name = cacheFileName(file);
  const cachedData = readOwnCache(join(dir, name));
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
  const module = { exports: {} as T };
  const wrapper = script.runInThisContext() as (e: T, r: NodeJS.Require, m: { exports: T }, f: string, d: string) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  const fromCache = cachedData !== undefined && !script.cachedDataRejected;
  let saved = fromCache;
  return {
    exports: module.exports,
    fromCache,
    save() {
      if (saved) return;
      saved = true;
      try {
        writeCache(dir, name, script.createCachedData());
      } catch {
        // A read-only or full cache dir: the next run compiles again, nothing else changes.
      }
    },
  };
}
