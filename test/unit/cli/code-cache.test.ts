/**
 * src/code-cache.ts: the hot command bundles run the same with or without V8's code cache, the cache is a private
 * file keyed by the bundle's name, and a cache that is missing, corrupt, writable by others or from another build
 * only costs a compile.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { codeCacheDir, loadHot } from '../../../src/code-cache.js';

const root = mkdtempSync(join(tmpdir(), 'dstack-code-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Bundle {
  answer(): number;
  file: string;
  dir: string;
  sep: string;
}

let n = 0;
/** A fresh bundle dir and cache dir; `name` as scripts/build.mjs names hot bundles (<name>-<hash>.cjs). */
function fixture(name = 'validate-AAAA1111.cjs') {
  const base = join(root, String(n++));
  mkdirSync(join(base, 'hot'), { recursive: true });
  const file = join(base, 'hot', name);
  const source = `'use strict';
const { sep } = require('node:path');
function deep(k) { return k <= 0 ? 42 : deep(k - 1); }
exports.answer = () => deep(3);
exports.file = __filename;
exports.dir = __dirname;
exports.sep = sep;
`;
  writeFileSync(file, source);
  return { file, cache: join(base, 'cache') };
}

let loads = 0;
/**
 * loadHot on `file` as a new process would see it: V8 also keeps compiled scripts per isolate, keyed by their text,
 * so without a change it would not even look at the cache here. A same-length trailer is a change to that key
 * but not to the code cache's own check (the source's length), as in a real second run.
 */
function load<T = Bundle>(file: string, cache: string) {
  const text = readFileSync(file, 'utf8').replace(/\n\/\/ load \d+\n$/, '');
  writeFileSync(file, `${text}\n// load ${String(loads++).padStart(6, '0')}\n`);
  return loadHot<T>(file, cache);
}

const cacheFiles = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.v8')) : []);

describe('loadHot', () => {
  it('runs a CommonJS bundle with require, __filename and __dirname, then writes a 0600 cache it uses next time', () => {
    const { file, cache } = fixture();
    const first = load(file, cache);
    expect(first.fromCache).toBe(false);
    expect(first.exports.answer()).toBe(42);
    expect(first.exports).toMatchObject({ file, dir: join(file, '..'), sep: '/' });
    expect(cacheFiles(cache)).toEqual([]);
    first.save();
    const [written] = cacheFiles(cache);
    expect(written).toBe(`validate-AAAA1111-${process.version}-${process.arch}.v8`);
    expect(statSync(join(cache, written ?? '')).mode & 0o777).toBe(0o600);
    expect(statSync(cache).mode & 0o777).toBe(0o700);

    const second = load(file, cache);
    expect(second.fromCache).toBe(true);
    expect(second.exports.answer()).toBe(42);
  });

  it('ignores a corrupt cache and replaces it', () => {
    const { file, cache } = fixture();
    load(file, cache).save();
    const [name] = cacheFiles(cache);
    writeFileSync(join(cache, name ?? ''), 'not V8 code cache data', { mode: 0o600 });
    const hot = load(file, cache);
    expect(hot.fromCache).toBe(false);
    expect(hot.exports.answer()).toBe(42);
    hot.save();
    expect(load(file, cache).fromCache).toBe(true);
  });

  it('does not use a cache file that others can write', () => {
    const { file, cache } = fixture();
    load(file, cache).save();
    const [name] = cacheFiles(cache);
    chmodSync(join(cache, name ?? ''), 0o666);
    const hot = load(file, cache);
    expect(hot.fromCache).toBe(false);
    expect(hot.exports.answer()).toBe(42);
  });

  it('keys the cache by the bundle file, and a new build drops the older build cache of that bundle only', () => {
    const a = fixture('validate-AAAA1111.cjs');
    load(a.file, a.cache).save();
    const other = join(a.cache, `ps-CCCC3333-${process.version}-${process.arch}.v8`);
    writeFileSync(other, 'x', { mode: 0o600 });
    const rebuilt = join(a.file, '..', 'validate-BBBB2222.cjs');
    writeFileSync(rebuilt, `exports.answer = () => 7;\n`);
    const hot = load<{ answer(): number }>(rebuilt, a.cache);
    expect(hot.fromCache).toBe(false);
    expect(hot.exports.answer()).toBe(7);
    hot.save();
    expect(cacheFiles(a.cache).sort()).toEqual([`ps-CCCC3333-${process.version}-${process.arch}.v8`, `validate-BBBB2222-${process.version}-${process.arch}.v8`]);
  });

  it('runs without a writable cache dir, saving nothing', () => {
    const { file, cache } = fixture();
    writeFileSync(cache, 'a file where the cache dir would be');
    const hot = load(file, cache);
    expect(hot.exports.answer()).toBe(42);
    expect(() => hot.save()).not.toThrow();
    expect(load(file, cache).fromCache).toBe(false);
  });

  it('lets an error thrown at load reach the caller (main.ts then runs the ESM chunks)', () => {
    const { file, cache } = fixture();
    writeFileSync(file, `throw new Error('broken bundle');\n`);
    expect(() => load(file, cache)).toThrow('broken bundle');
  });
});

describe('codeCacheDir', () => {
  it('is dstack/v8 under an absolute XDG_CACHE_HOME, else under ~/.cache', () => {
    expect(codeCacheDir({ XDG_CACHE_HOME: '/x/cache' })).toBe('/x/cache/dstack/v8');
    expect(codeCacheDir({ XDG_CACHE_HOME: 'relative' })).toMatch(/\/\.cache\/dstack\/v8$/);
    expect(codeCacheDir({})).toMatch(/\/\.cache\/dstack\/v8$/);
  });
});
