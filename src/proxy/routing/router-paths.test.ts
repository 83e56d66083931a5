import { describe, expect, it } from 'vitest';
import { isRouterPath, routerPathRejection } from './router-paths.js';

describe('paths a router replica serves (dstack ROUTER_WHITELISTED_PATHS)', () => {
  it('allows /generate and /chat/completions exactly and anything under /v1/', () => {
    for (const p of ['/generate', '/chat/completions', '/v1/chat/completions', '/v1/models', 'generate']) expect(isRouterPath(p)).toBe(true);
    for (const p of ['/', '/workers', '/v1', '/generate/x', '/chat/completions/', '/health', '/v2/models']) expect(isRouterPath(p)).toBe(false);
  });

  it('refuses other paths with a 403 that says which paths are served', () => {
    expect(routerPathRejection('/v1/models')).toBeUndefined();
    expect(routerPathRejection('/workers')).toEqual({
      status: 403,
      detail: 'Path is not allowed for this service: it is served by a router replica, which accepts only /generate, /v1/…, /chat/completions',
    });
  });
});
