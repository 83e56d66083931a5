import { describe, expect, it } from 'vitest';
import { DEFAULT_REPO_SIZE_LIMIT, parseSize, resolveSizeLimit } from '../../../src/core/repo/index.js';
import { UserError } from '../../../src/core/errors.js';

describe('repo size limit', () => {
  it('parses bytes and binary units', () => {
    expect(parseSize('1024')).toBe(1024);
    expect(parseSize('100MB')).toBe(100 * 1024 * 1024);
    expect(parseSize('1.5 GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('2k')).toBe(2048);
    expect(parseSize('lots')).toBeUndefined();
    expect(parseSize('5XB')).toBeUndefined();
  });

  it('prefers the option, then DSTACK_REPO_SIZE_LIMIT, then 100 MB', () => {
    expect(resolveSizeLimit(10, { DSTACK_REPO_SIZE_LIMIT: '1MB' })).toBe(10);
    expect(resolveSizeLimit(undefined, { DSTACK_REPO_SIZE_LIMIT: '1MB' })).toBe(1024 * 1024);
    expect(resolveSizeLimit(undefined, {})).toBe(DEFAULT_REPO_SIZE_LIMIT);
  });

  it('rejects a bad environment value with a UserError', () => {
    expect(() => resolveSizeLimit(undefined, { DSTACK_REPO_SIZE_LIMIT: 'big' })).toThrowError(UserError);
    expect(() => resolveSizeLimit(undefined, { DSTACK_REPO_SIZE_LIMIT: '0' })).toThrowError(/not a size/);
  });
});
