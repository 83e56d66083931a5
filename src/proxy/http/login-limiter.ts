/**
 * Failed logins per client address: a bearer token sends no user name, and a failed one matches no user, so the
 * address is the only key (a known user's token refused by a project is no failed login: callers count `unknown`
 * verdicts only, contracts.ts `AuthVerdict`). After `maxFailures` such tokens within a sliding `windowMs`, every
 * request from that address that carries a token is answered 429 with Retry-After until the oldest of those failures
 * leaves the window. Blocking correct tokens too is the point: answering them would let a guesser keep going and
 * learn which guess was right. One limiter per listener serves the control API, attach, proxy and model endpoint.
 * Successful requests are never delayed; memory is bounded (the least recently failing addresses are dropped).
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export interface LoginLimits {
  /** Default 10. */
  maxFailures?: number;
  /** Default 60 000. */
  windowMs?: number;
  /** Addresses remembered at most (default 10 000). */
  maxClients?: number;
}

export class LoginLimiter {
  readonly #failures = new Map<string, number[]>();
  readonly #max: number;
  readonly #window: number;
  readonly #clients: number;

  constructor(
    limits: LoginLimits = {},
    private readonly clock: () => number = Date.now,
  ) {
    this.#max = limits.maxFailures ?? 10;
    this.#window = limits.windowMs ?? 60_000;
    this.#clients = limits.maxClients ?? 10_000;
  }

  /** Seconds to wait when `address` is blocked now; undefined when it may try. */
  retryAfterSeconds(address: string | undefined): number | undefined {
    // The common case, nobody failing lately, costs one size check on every request with a token.
    if (this.#failures.size === 0) return undefined;
    const key = clientKey(address);
    const times = this.#recent(key, this.clock());
    if (times.length < this.#max) return undefined;
    return Math.max(1, Math.ceil((times[times.length - this.#max]! + this.#window - this.clock()) / 1000));
  }

  failed(address: string | undefined): void {
    const key = clientKey(address);
    const now = this.clock();
    const times = this.#recent(key, now);
    times.push(now);
    // Only the newest `max` matter for the verdict: the list cannot grow with a flood.
    if (times.length > this.#max) times.splice(0, times.length - this.#max);
    // Re-inserted last: the Map's order is then least recently failing first, the one dropped when full.
    this.#failures.delete(key);
    this.#failures.set(key, times);
    if (this.#failures.size > this.#clients) this.#failures.delete(this.#failures.keys().next().value!);
  }

  #recent(key: string, now: number): number[] {
    const times = this.#failures.get(key);
    if (!times) return [];
    const live = times.filter((t) => now - t < this.#window);
    if (live.length === 0) this.#failures.delete(key);
    else if (live.length !== times.length) this.#failures.set(key, live);
    return live;
  }
}

/**
 * The key of a client address: IPv4 as is (v4-mapped IPv6 unwrapped), IPv6 by its /64, which one host usually
 * holds whole (a key per address would let it rotate through 2^64 of them).
 */
export function clientKey(address: string | undefined): string {
  if (!address) return '';
  const a = address.toLowerCase();
  if (a.startsWith('::ffff:') && isIP(a.slice(7)) === 4) return a.slice(7);
  if (isIP(a) !== 6) return a;
  const [head = '', tail = ''] = a.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = a.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

const LIMITER = Symbol('dstack.loginLimiter');
type Watched = { [LIMITER]?: LoginLimiter };

/**
 * Set by the listener on the connection of a request that carries a token, so the check that rejects it can count
 * the failure. On the socket, not the request: once per connection, not a new property on every request.
 */
export function watchLogin(req: IncomingMessage, limiter: LoginLimiter): void {
  const socket = req.socket as unknown as Watched;
  if (socket[LIMITER] === undefined) socket[LIMITER] = limiter;
}

/** The answer to a blocked address; `detail` as the proxy's other rejections. */
export function tooManyLogins(retryAfterSeconds: number): { status: 429; detail: string; headers: Record<string, string> } {
  return { status: 429, detail: 'Too many failed logins from this address; try again later', headers: { 'retry-after': String(retryAfterSeconds) } };
}

/** Called where a presented token was found unknown (proxy, models endpoint, control API, attach). */
export function noteFailedLogin(req: IncomingMessage): void {
  (req.socket as unknown as Watched)[LIMITER]?.failed(req.socket.remoteAddress);
}
