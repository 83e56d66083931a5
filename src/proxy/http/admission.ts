/**
 * What a request to `/proxy/services/<p>/<run>/…` must pass before it is forwarded, for HTTP and WebSocket alike:
 * the route exists, the Bearer token belongs to a project member (when `auth`), and the rate limits admit it.
 */
import type { IncomingMessage } from 'node:http';
import type { ServiceRoute } from '../contracts.js';
import { bearerToken } from './auth.js';
import { noteFailedLogin } from './login-limiter.js';
import type { ProxyContext } from './context.js';
import { clientIpOf, type ScannedRequest } from './headers.js';
import { AMBIGUOUS_AUTHORIZATION, notFound, type Rejection } from './errors.js';
import { routerPathRejection } from '../routing/router-paths.js';

export const SERVICES_PREFIX = '/proxy/services/';

export interface ServicePath {
  project: string;
  run: string;
  /** `/proxy/services/<p>/<run>` as the client wrote it. */
  base: string;
  /** The path inside the service, `''` when the URL stops at the run name (→ 308 to the slash form). */
  rest: string;
  /** `?…` or `''`. */
  search: string;
}

function decode(segment: string): string | undefined {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

export function parseServicePath(url: string): ServicePath | undefined {
  const q = url.indexOf('?');
  const pathname = q < 0 ? url : url.slice(0, q);
  const search = q < 0 ? '' : url.slice(q);
  const i = pathname.indexOf('/', SERVICES_PREFIX.length);
  if (i <= SERVICES_PREFIX.length) return undefined;
  const j = pathname.indexOf('/', i + 1);
  const project = decode(pathname.slice(SERVICES_PREFIX.length, i));
  const run = decode(pathname.slice(i + 1, j < 0 ? undefined : j));
  if (!project || !run) return undefined;
  const base = j < 0 ? pathname : pathname.slice(0, j);
  return { project, run, base, rest: j < 0 ? '' : pathname.slice(j), search };
}

export type Admission = { route: ServiceRoute; rejection?: undefined } | { route?: undefined; rejection: Rejection };

/** The scan is passed in because the caller already read the raw headers once (see headers.ts). */
export function admit(
  ctx: ProxyContext,
  req: IncomingMessage,
  sp: ServicePath,
  { authorization, ambiguousAuthorization }: Pick<ScannedRequest, 'authorization' | 'ambiguousAuthorization'>,
): Admission {
  if (ambiguousAuthorization) return { rejection: AMBIGUOUS_AUTHORIZATION };
  const route = ctx.routes.get(sp.project, sp.run);
  if (!route) return { rejection: notFound(`Service ${sp.project}/${sp.run} not found`) };
  if (route.auth) {
    const token = bearerToken(authorization);
    if (token === undefined) {
      return { rejection: { status: 401, detail: 'Not authenticated', headers: { 'www-authenticate': 'Bearer' } } };
    }
    const auth = ctx.authenticate(sp.project, token);
    if (auth !== 'ok') {
      if (auth === 'unknown') noteFailedLogin(req);
      return { rejection: { status: 403, detail: `Unauthenticated or unauthorized to access project ${sp.project}` } };
    }
  }
  // After auth, as dstack checks it: an unauthorized caller learns nothing about which paths exist.
  const offPath = route.router ? routerPathRejection(sp.rest) : undefined;
  if (offPath) return { rejection: offPath };
  if (route.rateLimits.length > 0) {
    const verdict = ctx.limiter.check(
      `${sp.project}/${sp.run}`,
      route.rateLimits,
      { path: sp.rest || '/', clientIp: clientIpOf(req.socket.remoteAddress), header: (name) => headerValue(req, name) },
      ctx.clock(),
    );
    if (!verdict.allowed) {
      return { rejection: { status: 429, detail: 'Too many requests', headers: { 'retry-after': String(verdict.retryAfterSeconds) } } };
    }
  }
  return { route };
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}
