/**
 * The `Forwarder` for the model endpoint: sends one buffered request to a ready replica of a run, least
 * outstanding first, retrying another replica when the connection fails (the body is a buffer, and a connect
 * failure means nothing reached the replica). Holds for a cold start like the service proxy does.
 * Errors are DstackErrors with the HTTP status the endpoint should answer.
 */
import { InternalError, UserError } from '../../core/errors.js';
import type { Forwarder, RouteTable, UpstreamResponse } from '../contracts.js';
import { upstreamsOf } from '../routing/route-table.js';
import { pickReplica, type Random } from '../routing/select.js';
import { Upstreams } from '../routing/upstreams.js';
import type { StatsSink } from '../stats/stats-sink.js';
import { RETRY_AFTER_S, errorCode, isRetryable } from './errors.js';

export interface ForwarderOptions {
  /** Share the service proxy's Pools and outstanding counters (default: the MemoryRouteTable's own). */
  upstreams?: Upstreams;
  stats?: StatsSink;
  clock?: () => number;
  random?: Random;
  /** Default 600 000 ms: how long a request waits for a service scaling up from zero. */
  holdTimeoutMs?: number;
  onColdStart?: (project: string, run: string) => void;
}

export function makeForwarder(routes: RouteTable, options: ForwarderOptions = {}): Forwarder {
  const upstreams = options.upstreams ?? upstreamsOf(routes, () => new Upstreams());
  const clock = options.clock ?? Date.now;
  const random = options.random ?? Math.random;
  const holdTimeoutMs = options.holdTimeoutMs ?? 600_000;

  return async (project, run, request) => {
    const service = `${project}/${run}`;
    let route = routes.get(project, run);
    if (!route) throw new UserError('SERVICE_NOT_FOUND', `Service ${service} not found`, { status: 404 });
    const startedAt = clock();
    options.stats?.onRequest(project, run, startedAt);
    let counted = true;
    const done = (status: number): void => {
      if (!counted) return;
      counted = false;
      options.stats?.onResponse(project, run, clock() - startedAt, status);
    };
    try {
      if (route.replicas.length === 0 && route.canScaleFromZero) {
        options.onColdStart?.(project, run);
        await routes.waitForReplica(project, run, holdTimeoutMs, request.signal);
        route = routes.get(project, run) ?? route;
      }
      const tried = new Set<string>();
      let lastError: unknown;
      for (;;) {
        const replica = pickReplica(route.replicas, upstreams.outstanding, random, tried);
        if (!replica) break;
        upstreams.acquire(replica.id);
        try {
          const response = await upstreams.dispatcher(replica).request({
            origin: replica.origin,
            path: request.path,
            method: request.method as 'GET',
            headers: request.headers,
            body: request.body ?? null,
            signal: request.signal ?? null,
            headersTimeout: route.readTimeoutMs,
            bodyTimeout: route.readTimeoutMs,
          });
          let released = false;
          const release = (): void => {
            if (released) return;
            released = true;
            upstreams.release(replica.id);
            done(response.statusCode);
          };
          response.body.once('close', release).once('end', release).once('error', release);
          return { statusCode: response.statusCode, headers: response.headers, body: response.body } satisfies UpstreamResponse;
        } catch (err) {
          upstreams.release(replica.id);
          lastError = err;
          // `request()` rejects before any byte is written only for connect-class failures.
          if (!isRetryable(err, false) || request.signal?.aborted) break;
          tried.add(replica.id);
          route = routes.get(project, run) ?? route;
        }
      }
      throw mapFailure(lastError, service);
    } catch (err) {
      done(err instanceof InternalError || err instanceof UserError ? err.status : 502);
      throw err;
    }
  };
}

function mapFailure(err: unknown, service: string): Error {
  if (err === undefined) {
    return new InternalError('NO_READY_REPLICAS', `Service ${service} has no ready replicas`, {
      status: 503,
      hint: `retry after ${RETRY_AFTER_S} s`,
    });
  }
  const code = errorCode(err);
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new InternalError('UPSTREAM_TIMEOUT', 'Timed out requesting upstream', { status: 504, cause: err });
  }
  if (code === 'UND_ERR_ABORTED' || (err as { name?: string }).name === 'AbortError') {
    return new InternalError('REQUEST_ABORTED', 'The client went away', { status: 499, cause: err });
  }
  return new InternalError('UPSTREAM_UNAVAILABLE', `Error requesting upstream of service ${service}`, { status: 502, cause: err });
}
