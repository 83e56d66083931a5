import { describe, expect, it } from 'vitest';
import { compileIgnore, IgnoreTree } from '../../../src/core/repo/index.js';

const ignored = (patterns: string, p: string, isDir = false) => {
  const tree = new IgnoreTree();
  tree.add('', patterns);
  return tree.isIgnored(p, isDir);
};

describe('.dstackignore matcher (gitignore syntax)', () => {
  it('matches a bare name at any depth, and everything inside a matched folder', () => {
    expect(ignored('data', 'data')).toBe(true);
    expect(ignored('data', 'a/b/data')).toBe(true);
    expect(ignored('data', 'data/x/y.bin')).toBe(true);
    expect(ignored('data', 'database')).toBe(false);
  });

  it('anchors patterns with a leading or inner slash', () => {
    expect(ignored('/build', 'build/x')).toBe(true);
    expect(ignored('/build', 'src/build/x')).toBe(false);
    expect(ignored('docs/*.md', 'docs/a.md')).toBe(true);
    expect(ignored('docs/*.md', 'x/docs/a.md')).toBe(false);
    expect(ignored('docs/*.md', 'docs/sub/a.md')).toBe(false);
  });

  it('applies a trailing slash to folders only', () => {
    expect(ignored('logs/', 'logs', false)).toBe(false);
    expect(ignored('logs/', 'logs/today.txt')).toBe(true);
  });

  it('supports *, ?, [...] and **', () => {
    expect(ignored('*.ckpt', 'models/a.ckpt')).toBe(true);
    expect(ignored('file?.txt', 'file1.txt')).toBe(true);
    expect(ignored('file?.txt', 'file10.txt')).toBe(false);
    expect(ignored('v[0-9].bin', 'v3.bin')).toBe(true);
    expect(ignored('v[!0-9].bin', 'v3.bin')).toBe(false);
    expect(ignored('**/cache', 'a/b/cache/x')).toBe(true);
    expect(ignored('out/**', 'out/a/b')).toBe(true);
    expect(ignored('a/**/z', 'a/z')).toBe(true);
    expect(ignored('a/**/z', 'a/b/c/z')).toBe(true);
  });

  it('re-includes with ! unless a parent folder is excluded', () => {
    expect(ignored('*.bin\n!keep.bin', 'keep.bin')).toBe(false);
    expect(ignored('*.bin\n!keep.bin', 'drop.bin')).toBe(true);
    expect(ignored('big/\n!big/keep.txt', 'big/keep.txt')).toBe(true);
  });

  it('skips comments and blank lines, and honours escapes', () => {
    expect(compileIgnore('# note\n\n').match('# note', false)).toBeUndefined();
    expect(ignored('\\#hash', '#hash')).toBe(true);
    expect(ignored('\\!bang', '!bang')).toBe(true);
    expect(ignored('a.txt   ', 'a.txt')).toBe(true);
    expect(ignored('a.b', 'axb')).toBe(false);
  });

  it('scopes a nested ignore file to its folder, deeper files overriding', () => {
    const tree = new IgnoreTree();
    tree.add('', '*.log');
    tree.add('sub', '!keep.log\n/local.txt');
    expect(tree.isIgnored('a.log', false)).toBe(true);
    expect(tree.isIgnored('sub/keep.log', false)).toBe(false);
    expect(tree.isIgnored('sub/local.txt', false)).toBe(true);
    expect(tree.isIgnored('local.txt', false)).toBe(false);
  });
});
