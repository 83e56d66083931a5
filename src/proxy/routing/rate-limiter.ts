/**
 * `rate_limits` enforcement: one token bucket per (rule, key), the rule with the longest matching prefix wins
 * (dstack's gateway semantics). The bucket math is core's (`src/core/autoscaler/token-bucket.ts`); this file keeps
 * the buckets and bounds their number, since keys come from clients (IP addresses, header values).
 */
import { matchRule, newBucket, take, type BucketState } from '../../core/autoscaler/token-bucket.js';
import type { RateLimitRule } from '../contracts.js';

export interface RateLimitRequest {
  /** Path inside the service (after `/proxy/services/<p>/<run>`), the one rule prefixes are written against. */
  path: string;
  clientIp: string;
  header: (name: string) => string | undefined;
}

export interface RateLimitVerdict {
  allowed: boolean;
  retryAfterSeconds: number;
}

const ALLOWED: RateLimitVerdict = { allowed: true, retryAfterSeconds: 0 };

export class RateLimiter {
  private readonly buckets = new Map<string, BucketState>();

  /** `maxBuckets` bounds memory under many distinct keys: full (idle) buckets are swept when it is reached. */
  constructor(private readonly maxBuckets = 100_000) {}

  check(service: string, rules: readonly RateLimitRule[], request: RateLimitRequest, now: number): RateLimitVerdict {
    if (rules.length === 0) return ALLOWED;
    const rule = matchRule(rules, request.path);
    if (!rule) return ALLOWED;
    const key = rule.key.type === 'ip_address' ? request.clientIp : (request.header(rule.key.header) ?? '');
    const id = `${service}\0${rule.prefix}\0${rule.key.type === 'header' ? rule.key.header : ''}\0${key}`;
    let bucket = this.buckets.get(id);
    if (!bucket) {
      if (this.buckets.size >= this.maxBuckets) this.sweep(now, rule);
      bucket = newBucket(rule, now);
      this.buckets.set(id, bucket);
    }
    return take(bucket, rule, now);
  }

  /** Drops every bucket of `service` (`project/run`): its run finished, and a new run of that name starts afresh. */
  forget(service: string): void {
    const prefix = `${service}\0`;
    for (const id of this.buckets.keys()) if (id.startsWith(prefix)) this.buckets.delete(id);
  }

  /** Buckets held (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }

  /** Drops buckets untouched long enough to have refilled (an idle bucket is the same as a new one). */
  private sweep(now: number, rule: RateLimitRule): void {
    const idleMs = ((1 + rule.burst) / Math.max(rule.rps, 1e-9)) * 1000;
    for (const [id, b] of this.buckets) if (now - b.updatedAt >= idleMs) this.buckets.delete(id);
    // Still full: evict the oldest entries (Map keeps insertion order) rather than grow without bound.
    for (const id of this.buckets.keys()) {
      if (this.buckets.size < this.maxBuckets) break;
      this.buckets.delete(id);
    }
  }
}
