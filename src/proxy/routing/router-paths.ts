/**
 * A service whose traffic goes to an in-service router (SGLang's router, Dynamo's frontend) exposes only the
 * router's inference endpoints: its worker-management API (`/workers`, `/add_worker`, …) must not be reachable by
 * service users. The list and the matching rule are dstack's (`proxy/lib/const.py ROUTER_WHITELISTED_PATHS`,
 * `service_proxy.py _is_whitelisted_path`): an entry ending in `/` is a prefix, any other must match exactly.
 */
import type { Rejection } from '../upstream/failures.js';

export const ROUTER_ALLOWED_PATHS: readonly string[] = ['/generate', '/v1/', '/chat/completions'];

/** `path` is the path inside the service, without the query. */
export function isRouterPath(path: string): boolean {
  const p = path.startsWith('/') ? path : `/${path}`;
  return ROUTER_ALLOWED_PATHS.some((allowed) => (allowed.endsWith('/') ? p.startsWith(allowed) : p === allowed));
}

/** The 403 for a path the router does not serve; dstack's message, plus which paths are served. */
export function routerPathRejection(path: string): Rejection | undefined {
  if (isRouterPath(path)) return undefined;
  return { status: 403, detail: `Path is not allowed for this service: it is served by a router replica, which accepts only ${ROUTER_ALLOWED_PATHS.map((p) => (p.endsWith('/') ? `${p}…` : p)).join(', ')}` };
}
