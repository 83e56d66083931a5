/**
 * A bounded open-loop load generator for the e2e tests: requests are sent at a fixed rate (each on its own, so
 * the load does not slow down with the service) with at most `maxInFlight` outstanding, and every request's
 * status is recorded (-1 for a transport error), so a test can assert on all of them.
 */
import { Agent, request } from 'undici';

export interface LoadResult {
  statuses: number[];
  /** `Retry-After` of each 429 answer, as sent. */
  retryAfter: (string | undefined)[];
  /** From the first request sent to the last one, in ms (the span over which the rate was offered). */
  sendingMs: number;
}

export interface Load {
  /** Stops sending; resolves once every request sent has an answer. */
  stop(): Promise<LoadResult>;
  /** Lets it send for its whole `maxSeconds`, then resolves like stop(). */
  finish(): Promise<LoadResult>;
}

export interface LoadOptions {
  url: (i: number) => string;
  rps: number;
  /** Stops by itself after this long (a bound, so a failing test cannot load forever). */
  maxSeconds: number;
  maxInFlight?: number;
  headers?: Record<string, string>;
}

export function startLoad(o: LoadOptions): Load {
  const dispatcher = new Agent({ connections: o.maxInFlight ?? 64, headersTimeout: 120_000, bodyTimeout: 120_000 });
  const result: LoadResult = { statuses: [], retryAfter: [], sendingMs: 0 };
  const pending = new Set<Promise<void>>();
  const started = performance.now();
  let stopped = false;

  const one = async (i: number): Promise<void> => {
    try {
      const res = await request(o.url(i), { dispatcher, ...(o.headers ? { headers: o.headers } : {}) });
      await res.body.dump();
      result.statuses.push(res.statusCode);
      if (res.statusCode === 429) result.retryAfter.push(res.headers['retry-after'] as string | undefined);
    } catch {
      result.statuses.push(-1);
    }
  };

  const sender = (async () => {
    for (let i = 0; !stopped; i++) {
      const due = started + (i * 1000) / o.rps;
      if (due - started > o.maxSeconds * 1000) break;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      while (pending.size >= (o.maxInFlight ?? 64)) await Promise.race(pending);
      if (stopped) break;
      result.sendingMs = performance.now() - started;
      const p = one(i).finally(() => pending.delete(p));
      pending.add(p);
    }
  })();

  const settle = async (): Promise<LoadResult> => {
    await sender;
    await Promise.all(pending);
    await dispatcher.close();
    return result;
  };
  return {
    stop: () => {
      stopped = true;
      return settle();
    },
    finish: settle,
  };
}
