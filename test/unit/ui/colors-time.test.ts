import { describe, expect, it } from 'vitest';
import { colorEnabled, createPainter, statusTone } from '../../../src/ui/colors.js';
import { formatAgo, formatDuration } from '../../../src/ui/time.js';
import { closest } from '../../../src/ui/suggest.js';

describe('colorEnabled', () => {
  it('follows NO_COLOR, then FORCE_COLOR, then the terminal', () => {
    expect(colorEnabled({ env: {}, isTTY: true })).toBe(true);
    expect(colorEnabled({ env: {}, isTTY: false })).toBe(false);
    expect(colorEnabled({ env: { NO_COLOR: '1', FORCE_COLOR: '1' }, isTTY: true })).toBe(false);
    expect(colorEnabled({ env: { NO_COLOR: '' }, isTTY: true })).toBe(true);
    expect(colorEnabled({ env: { FORCE_COLOR: '1' }, isTTY: false })).toBe(true);
    expect(colorEnabled({ env: { FORCE_COLOR: '0' }, isTTY: true })).toBe(false);
    expect(colorEnabled({ env: { TERM: 'dumb' }, isTTY: true })).toBe(false);
  });
});

describe('status tones (dstack CLI colours)', () => {
  it.each([
    ['submitted', 'grey'],
    ['provisioning', 'blue'],
    ['terminating', 'blue'],
    ['pulling', 'green'],
    ['running', 'green'],
    ['failed', 'red'],
    ['no capacity', 'gold'],
    ['exited (0)', 'grey'],
    ['exited (137)', 'red'],
  ])('%s is %s', (status, tone) => expect(statusTone(status)).toBe(tone));

  it('paints nothing when disabled', () => {
    expect(createPainter(false).status('failed')).toBe('failed');
    expect(createPainter(true).status('failed')).toBe('\x1b[31mfailed\x1b[39m');
  });
});

describe('formatAgo', () => {
  const now = Date.UTC(2026, 0, 10, 12, 0, 0);
  it.each([
    [3_000, 'now'],
    [40_000, '40 secs ago'],
    [61_000, '1 min ago'],
    [11 * 60_000 + 5_000, '11 mins ago'],
    [2 * 3600_000, '2 hours ago'],
    [30 * 3600_000, 'yesterday'],
    [3 * 86400_000, '3 days ago'],
    [15 * 86400_000, '2 weeks ago'],
    [400 * 86400_000, '1 year ago'],
  ])('%i ms before now is "%s"', (ago, text) => expect(formatAgo(now - ago, now)).toBe(text));
});

describe('formatDuration', () => {
  it('uses the YAML short form with at most two units', () => {
    expect(formatDuration(45_000)).toBe('45s');
    expect(formatDuration(5 * 60_000)).toBe('5m');
    expect(formatDuration(90 * 60_000 + 10_000)).toBe('1h30m');
  });
});

describe('closest', () => {
  it('suggests near misses only', () => {
    expect(closest('aply', ['apply', 'ps', 'stop'])).toBe('apply');
    expect(closest('zzzzzz', ['apply', 'ps', 'stop'])).toBeUndefined();
  });
});
