import { describe, expect, it } from 'vitest';
import { causeChain, formatErrorBanner } from '../../../src/ui/error-banner.js';

describe('formatErrorBanner', () => {
  it('prints message and hint for user errors, never a stack', () => {
    const text = formatErrorBanner({ kind: 'user', message: 'no such file', hint: 'check -f', stack: 'Error\n    at x' }, { verbose: true });
    expect(text).toBe('Error: no such file\nHint: check -f\n');
  });

  it('names the code under --verbose', () => {
    expect(formatErrorBanner({ kind: 'user', message: 'm', code: 'RUN_NOT_FOUND' }, { verbose: true })).toBe('Error [RUN_NOT_FOUND]: m\n');
  });

  it('hides the stack of internal errors unless verbose', () => {
    const report = { kind: 'internal' as const, message: 'boom', stack: 'Error: boom\n    at f (x.js:1:1)', causes: ['Error: root'] };
    expect(formatErrorBanner(report)).toBe('Error: boom\n(run with --verbose for the stack)\n');
    expect(formatErrorBanner(report, { verbose: true })).toBe('Error: boom\n\nError: boom\n    at f (x.js:1:1)\nCaused by: Error: root\n');
  });
});

describe('causeChain', () => {
  it('follows cause links to a limit', () => {
    const e = new Error('a', { cause: new TypeError('b', { cause: 'c' }) });
    expect(causeChain(e)).toEqual(['TypeError: b', 'c']);
  });
});
