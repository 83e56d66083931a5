import { describe, expect, it } from 'vitest';
import { pickReplica } from './select.js';

const replicas = [{ id: 'a', origin: 'http://a' }, { id: 'b', origin: 'http://b' }, { id: 'c', origin: 'http://c' }];

describe('pickReplica', () => {
  it('picks the least outstanding replica', () => {
    const load: Record<string, number> = { a: 3, b: 1, c: 2 };
    expect(pickReplica(replicas, (id) => load[id]!, () => 0)?.id).toBe('b');
  });

  it('breaks ties with the injected random source and skips excluded replicas', () => {
    expect(pickReplica(replicas, () => 0, () => 0.99)?.id).toBe('a');
    expect(pickReplica(replicas, () => 0, () => 0)?.id).toBe('c');
    expect(pickReplica(replicas, () => 0, () => 0.99, new Set(['a']))?.id).toBe('b');
    expect(pickReplica(replicas, () => 0, () => 0.5, new Set(['a', 'b', 'c']))).toBeUndefined();
  });

  it('spreads ties evenly', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 3000; i++) counts[pickReplica(replicas, () => 0, random)!.id]!++;
    for (const n of Object.values(counts)) expect(n).toBeGreaterThan(800);
  });
});
