/**
 * `/proxy/services/<p>/<run>/…`: admission (route, auth, rate limit), counting for the autoscaler, path and header
 * rewriting, then an `Exchange` forwards to a replica (holding for a cold start when the service may scale from
 * zero; see `upstream/attempt.ts`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { admit, type ServicePath } from './admission.js';
import type { ProxyContext } from './context.js';
import { sendRejection } from './errors.js';
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
  const admission = admit(ctx, req, sp, scan);
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
    dropAuthorization: route.auth,
  });
  new Exchange(ctx, req, res, route, path, headers, scan.hasBody ? req : null, startedAt).start();
}
