import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limiter.js';

const rule = { prefix: '/', key: { type: 'ip_address' as const }, rps: 1, burst: 0 };
const req = (clientIp: string) => ({ path: '/', clientIp, header: () => undefined });

describe('RateLimiter.forget', () => {
  it('drops the buckets of one finished service: a new run of that name starts with a full bucket', () => {
    const limiter = new RateLimiter();
    expect(limiter.check('main/svc', [rule], req('1.1.1.1'), 0).allowed).toBe(true);
    expect(limiter.check('main/svc', [rule], req('2.2.2.2'), 0).allowed).toBe(true);
    expect(limiter.check('main/svc-2', [rule], req('1.1.1.1'), 0).allowed).toBe(true);
    expect(limiter.check('main/svc', [rule], req('1.1.1.1'), 0).allowed).toBe(false);
    expect(limiter.size).toBe(3);

    limiter.forget('main/svc');
    expect(limiter.size).toBe(1);
    expect(limiter.check('main/svc', [rule], req('1.1.1.1'), 0).allowed).toBe(true);
    // `svc-2` shares the prefix `main/svc` but is another service: its bucket stays (still empty).
    expect(limiter.check('main/svc-2', [rule], req('1.1.1.1'), 0).allowed).toBe(false);
  });
});
