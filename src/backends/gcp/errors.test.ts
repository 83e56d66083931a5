import { describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.js';
import { OfferUnavailableError } from '../compute.js';
import { GceApiError, GceOperationError, httpStatusOf, mapGceError } from './errors.js';

const ctx = { action: 'instances.insert', where: 'us-central1-a', source: 'config.yml projects[main].backends[0].creds', endpoint: undefined };

/** What the REST transport rejects with: a GaxiosError-like object, GCE's body as its cause's message. */
function restError(status: number, reason: string, message: string): Error {
  const e = new Error('request failed') as Error & { status: number };
  e.status = status;
  e.cause = new Error(JSON.stringify({ error: { code: status, message, errors: [{ message, domain: 'global', reason }] } }));
  return e;
}

describe('mapGceError', () => {
  it.each([
    ['ZONE_RESOURCE_POOL_EXHAUSTED', 'no_capacity'],
    ['ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS', 'no_capacity'],
    ['STOCKOUT', 'no_capacity'],
    ['QUOTA_EXCEEDED', 'no_quota'],
  ] as const)('operation error %s → OfferUnavailableError(%s)', (code, kind) => {
    const e = mapGceError(new GceOperationError(code, 'nope', 503), ctx);
    expect(e).toBeInstanceOf(OfferUnavailableError);
    expect(e).toMatchObject({ kind, providerCode: code });
  });

  it('an HTTP 403 quotaExceeded → no_quota; any other 403 → permission UserError', () => {
    expect(mapGceError(restError(403, 'quotaExceeded', "Quota 'CPUS' exceeded."), ctx)).toMatchObject({ kind: 'no_quota' });
    expect(mapGceError(restError(403, 'forbidden', 'Required permission'), ctx)).toMatchObject({ code: 'GCP_PERMISSION_DENIED' });
  });

  it('401 → UserError naming the source and leaving GCE text out', () => {
    const e = mapGceError(restError(401, 'authError', 'token ya29.secret is bad'), ctx);
    expect(e).toBeInstanceOf(UserError);
    expect(e.message).toContain(ctx.source);
    expect(e.message).not.toContain('ya29');
  });

  it('anything else keeps GCE code, status and message; a gRPC-coded GoogleError maps the same way', () => {
    const e = mapGceError(restError(400, 'invalid', 'Invalid value for field'), ctx);
    expect(e).toBeInstanceOf(GceApiError);
    expect(e.message).toContain('Invalid value for field');
    expect(httpStatusOf(e)).toBe(400);
    expect(httpStatusOf(Object.assign(new Error('not found'), { code: 5 }))).toBe(404);
  });

  it('no answer at all → unreachable, naming the endpoint', () => {
    const e = mapGceError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), { ...ctx, endpoint: 'http://127.0.0.1:9' });
    expect(e).toMatchObject({ code: 'GCP_UNREACHABLE' });
    expect(e.message).toContain('http://127.0.0.1:9');
  });
});
