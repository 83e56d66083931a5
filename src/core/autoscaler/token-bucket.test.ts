import { describe, expect, it } from 'vitest';
import { matchRule, newBucket, take } from './token-bucket.js';

describe('token bucket', () => {
  it('admits rps requests per second and refuses the rest with Retry-After', () => {
    const policy = { rps: 2, burst: 0 };
    const b = newBucket(policy, 0);
    expect(take(b, policy, 0).allowed).toBe(true);
    const refused = take(b, policy, 100);
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(take(b, policy, 500).allowed).toBe(true);
  });

  it('admits a burst at once, then the steady rate', () => {
    const policy = { rps: 1, burst: 3 };
    const b = newBucket(policy, 0);
    const admitted = [0, 0, 0, 0, 0].map(() => take(b, policy, 0).allowed);
    expect(admitted).toEqual([true, true, true, true, false]);
    expect(take(b, policy, 1000).allowed).toBe(true);
  });

  it('over a simulated minute admits the configured rate', () => {
    const policy = { rps: 5, burst: 0 };
    const b = newBucket(policy, 0);
    let ok = 0;
    for (let t = 0; t < 60_000; t += 10) if (take(b, policy, t).allowed) ok++;
    expect(ok).toBeGreaterThanOrEqual(300);
    expect(ok).toBeLessThanOrEqual(301);
  });

  it('Retry-After grows for slow rates', () => {
    const policy = { rps: 1 / 60, burst: 0 };
    const b = newBucket(policy, 0);
    take(b, policy, 0);
    expect(take(b, policy, 0).retryAfterSeconds).toBe(60);
  });
});

describe('matchRule', () => {
  const rules = [{ prefix: '/' }, { prefix: '/v1/' }, { prefix: '/v1/chat' }];
  it('picks the longest matching prefix', () => {
    expect(matchRule(rules, '/v1/chat/completions')?.prefix).toBe('/v1/chat');
    expect(matchRule(rules, '/v1/models')?.prefix).toBe('/v1/');
    expect(matchRule(rules, '/health')?.prefix).toBe('/');
    expect(matchRule([{ prefix: '/api' }], '/health')).toBeUndefined();
  });
});
