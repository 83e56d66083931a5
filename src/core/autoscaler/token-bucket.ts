/**
 * Token buckets for `rate_limits` (dstack's syntax; nginx `limit_req` semantics: `rps` refills continuously,
 * `burst` extra requests may be admitted at once). Pure: the caller passes `now` in ms.
 */
export interface BucketState {
  tokens: number;
  updatedAt: number;
}

export interface BucketPolicy {
  rps: number;
  burst: number;
}

export interface TakeResult {
  allowed: boolean;
  /** Seconds until one token is available (for `Retry-After`), 0 when allowed. */
  retryAfterSeconds: number;
}

export function capacity(policy: BucketPolicy): number {
  // One request is always admissible at the configured rate; burst adds headroom on top (as nginx does).
  return 1 + Math.max(0, policy.burst);
}

export function newBucket(policy: BucketPolicy, now: number): BucketState {
  return { tokens: capacity(policy), updatedAt: now };
}

/** Mutates `state` (buckets live in a Map owned by the proxy; allocation per request would cost more). */
export function take(state: BucketState, policy: BucketPolicy, now: number): TakeResult {
  const elapsed = Math.max(0, now - state.updatedAt) / 1000;
  state.tokens = Math.min(capacity(policy), state.tokens + elapsed * policy.rps);
  state.updatedAt = now;
  if (state.tokens >= 1) {
    state.tokens -= 1;
    return { allowed: true, retryAfterSeconds: 0 };
  }
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - state.tokens) / policy.rps)) };
}

/** The rule whose prefix is the longest match of `path` (dstack: longest prefix wins), or undefined. */
export function matchRule<R extends { prefix: string }>(rules: readonly R[], path: string): R | undefined {
  let best: R | undefined;
  for (const rule of rules) {
    if (path.startsWith(rule.prefix) && (!best || rule.prefix.length > best.prefix.length)) best = rule;
  }
  return best;
}
