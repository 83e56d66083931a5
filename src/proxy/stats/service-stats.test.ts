import { describe, expect, it } from 'vitest';
import { ServiceStats } from './service-stats.js';

describe('ServiceStats', () => {
  it('averages requests over 30/60/300 s windows that end before the current second', () => {
    const stats = new ServiceStats({ clock: () => 0 });
    const t0 = 1_000_000_000;
    // 2 requests per second for the 60 seconds before t0, 1 per second between 60 and 300 s before t0.
    for (let s = 1; s <= 300; s++) {
      const n = s <= 60 ? 2 : 1;
      for (let i = 0; i < n; i++) stats.onRequest('p', 'r', t0 - s * 1000);
    }
    stats.onRequest('p', 'r', t0 + 10); // the current, partial second is not counted
    const snap = stats.snapshot('p', 'r', t0 + 500);
    expect(snap.rps30).toBe(2);
    expect(snap.rps60).toBe(2);
    expect(snap.rps300).toBeCloseTo((60 * 2 + 240) / 300, 10);
    expect(snap.inFlight).toBe(300 + 60 + 1);
  });

  it('forgets buckets older than 300 s and tracks in-flight and latency percentiles', () => {
    let now = 5_000_000;
    const stats = new ServiceStats({ clock: () => now });
    stats.onRequest('p', 'r', now);
    now += 400_000;
    expect(stats.snapshot('p', 'r', now).rps300).toBe(0);
    for (let i = 0; i < 100; i++) {
      stats.onRequest('p', 'r', now);
      stats.onResponse('p', 'r', i < 98 ? 10 : 1000, 200);
    }
    const snap = stats.snapshot('p', 'r', now + 1000);
    expect(snap.inFlight).toBe(1);
    expect(snap.p50).toBeGreaterThanOrEqual(10);
    expect(snap.p50).toBeLessThan(12.1);
    expect(snap.p99).toBeGreaterThanOrEqual(1000);
    expect(snap.p99).toBeLessThan(1200.1);
    expect(stats.snapshot('p', 'other', now)).toEqual({ rps30: 0, rps60: 0, rps300: 0, inFlight: 0, p50: 0, p99: 0 });
  });

  it('forget drops one service entirely: a new run of that name starts from no load', () => {
    const stats = new ServiceStats({ clock: () => 0 });
    const t0 = 1_000_000_000;
    for (let s = 1; s <= 30; s++) stats.onRequest('p', 'r', t0 - s * 1000);
    stats.onRequest('p', 'kept', t0 - 1000);
    stats.forget('p', 'r');
    expect(stats.snapshot('p', 'r', t0)).toMatchObject({ rps30: 0, inFlight: 0 });
    expect(stats.totals('p', 'r')).toEqual({ requests: 0, responses: 0, latencySumMs: 0 });
    expect(stats.snapshot('p', 'kept', t0).rps30).toBeCloseTo(1 / 30, 10);
  });
});
