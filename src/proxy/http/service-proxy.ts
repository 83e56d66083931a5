/**
 * `/proxy/services/<p>/<run>/…`: admission (route, auth, rate limit), counting for the autoscaler, path and header
 * rewriting, then an `Exchange` forwards to a replica. With no ready replica and `canScaleFromZero`, the request is
 * held (bounded queue, bounded wait) until the control plane routes a replica, instead of failing at once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServiceRoute } from '../contracts.js';
import { admit, type ServicePath } from './admission.js';
import type { ProxyContext } from './context.js';
import { RETRY_AFTER_S, noReplicas, sendRejection } from './errors.js';
import { Exchange } from './exchange.js';
import { addForwarded, clientIpOf, scanRequestHeaders } from './headers.js';

export function handleServiceRequest(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse, sp: ServicePath): void {
  if (sp.rest === '') {
    // dstack answers 308 so that relative URLs in the service's pages resolve under the run's prefix.
    res.writeHead(308, { location: `${sp.base}/${sp.search}`, 'content-length': 0 });
    res.end();
    return;
  }
  const scan = scanRequestHeaders(req.rawHeaders);
  const admission = admit(ctx, req, sp, scan.authorization);
  if (admission.rejection) return sendRejection(res, admission.rejection);
  const route = admission.route;
  const startedAt = ctx.clock();
  ctx.stats?.onRequest(route.project, route.run, startedAt);
  const path = route.stripPrefix ? sp.rest + sp.search : req.url!;
  const headers = addForwarded(scan, {
    clientIp: clientIpOf(req.socket.remoteAddress),
    proto: 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http',
    host: scan.host,
    prefix: route.stripPrefix ? sp.base : undefined,
  });
  const exchange = new Exchange(ctx, req, res, route, path, headers, scan.hasBody ? req : null, startedAt);
  if (exchange.send()) return;
  if (!route.canScaleFromZero) return sendRejection(res, noReplicas(`${route.project}/${route.run}`));
  void hold(ctx, res, route, exchange);
}

/**
 * Waits for a replica. The request body is not read meanwhile (an IncomingMessage stays paused until undici
 * consumes it), so nothing is lost; node:http's `requestTimeout` is off in the server for this reason.
 */
async function hold(ctx: ProxyContext, res: ServerResponse, route: ServiceRoute, exchange: Exchange): Promise<void> {
  const key = `${route.project}/${route.run}`;
  const held = ctx.held.get(key) ?? 0;
  if (held >= ctx.hold.maxHeldPerService) {
    return sendRejection(res, {
      status: 503,
      detail: `Service ${key} is scaling up and too many requests are waiting`,
      headers: { 'retry-after': String(RETRY_AFTER_S) },
    });
  }
  ctx.held.set(key, held + 1);
  if (held === 0) ctx.hold.onColdStart?.(route.project, route.run);
  const abort = new AbortController();
  exchange.holdAbort = abort;
  let ready = false;
  try {
    ready = await ctx.routes.waitForReplica(route.project, route.run, ctx.hold.holdTimeoutMs, abort.signal);
  } finally {
    const left = (ctx.held.get(key) ?? 1) - 1;
    if (left > 0) ctx.held.set(key, left);
    else ctx.held.delete(key);
    exchange.holdAbort = undefined;
  }
  if (abort.signal.aborted) return; // the client left while waiting
  const fresh = ctx.routes.get(route.project, route.run);
  if (ready && fresh && exchange.send(fresh)) return;
  sendRejection(res, {
    status: 503,
    detail: `Service ${key} has no ready replicas yet`,
    headers: { 'retry-after': String(RETRY_AFTER_S) },
  });
}
