import { describe, expect, it } from 'vitest';
import { LoginLimiter, clientKey } from './login-limiter.js';

describe('LoginLimiter', () => {
  const setup = (limits = { maxFailures: 3, windowMs: 60_000 }) => {
    let now = 1_000_000;
    const limiter = new LoginLimiter(limits, () => now);
    return { limiter, advance: (ms: number) => (now += ms) };
  };

  it('blocks an address after maxFailures within the window, until the oldest failure leaves it', () => {
    const { limiter, advance } = setup();
    limiter.failed('10.0.0.1');
    advance(10_000);
    limiter.failed('10.0.0.1');
    expect(limiter.retryAfterSeconds('10.0.0.1')).toBeUndefined();
    advance(10_000);
    limiter.failed('10.0.0.1');
    // The first failure was 20 s ago: 40 s left in its window.
    expect(limiter.retryAfterSeconds('10.0.0.1')).toBe(40);
    advance(39_999);
    expect(limiter.retryAfterSeconds('10.0.0.1')).toBe(1);
    advance(1);
    expect(limiter.retryAfterSeconds('10.0.0.1')).toBeUndefined();
  });

  it('keeps other addresses free', () => {
    const { limiter } = setup();
    for (let i = 0; i < 5; i++) limiter.failed('10.0.0.1');
    expect(limiter.retryAfterSeconds('10.0.0.1')).toBeGreaterThan(0);
    expect(limiter.retryAfterSeconds('10.0.0.2')).toBeUndefined();
  });

  it('forgets failures older than the window (sliding, not fixed buckets)', () => {
    const { limiter, advance } = setup();
    limiter.failed('a');
    limiter.failed('a');
    advance(60_000);
    limiter.failed('a');
    expect(limiter.retryAfterSeconds('a')).toBeUndefined();
  });

  it('remembers at most maxClients addresses, dropping the least recently failing', () => {
    let now = 0;
    const limiter = new LoginLimiter({ maxFailures: 1, windowMs: 60_000, maxClients: 2 }, () => now);
    limiter.failed('a');
    now++;
    limiter.failed('b');
    now++;
    limiter.failed('c');
    expect(limiter.retryAfterSeconds('a')).toBeUndefined();
    expect(limiter.retryAfterSeconds('b')).toBe(60);
    expect(limiter.retryAfterSeconds('c')).toBe(60);
  });
});

describe('clientKey', () => {
  it('unwraps v4-mapped addresses and keys IPv6 by its /64', () => {
    expect(clientKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('2001:db8:0:1::5')).toBe(clientKey('2001:DB8:0:1:ffff:1:2:3'));
    expect(clientKey('2001:db8:0:1::5')).not.toBe(clientKey('2001:db8:0:2::5'));
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
  });
});
