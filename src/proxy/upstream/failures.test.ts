import { describe, expect, it } from 'vitest';
import { CLIENT_GONE, holdQueueFull, isRetryable, noReplicas, notReadyInTime, upstreamRejection } from './failures.js';

const err = (code: string, name = 'Error') => Object.assign(new Error(code), { code, name });

describe('upstream failure mapping', () => {
  it('maps undici failures by code to the status and code each entry point answers', () => {
    const table = [
      ['UND_ERR_HEADERS_TIMEOUT', 504, 'UPSTREAM_TIMEOUT'],
      ['UND_ERR_BODY_TIMEOUT', 504, 'UPSTREAM_TIMEOUT'],
      ['UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 400, 'BAD_CONTENT_LENGTH'],
      ['UND_ERR_ABORTED', 499, 'REQUEST_ABORTED'],
      ['ECONNREFUSED', 502, 'UPSTREAM_UNAVAILABLE'],
      ['UND_ERR_SOCKET', 502, 'UPSTREAM_UNAVAILABLE'],
    ] as const;
    for (const [code, status, ours] of table) {
      expect(upstreamRejection(err(code), 'main/svc'), code).toMatchObject({ status, code: ours });
    }
    expect(upstreamRejection(err('ABORT_ERR', 'AbortError'), 'main/svc')).toBe(CLIENT_GONE);
    expect(upstreamRejection(new Error('no code'), 'main/svc')).toEqual({
      status: 502,
      code: 'UPSTREAM_UNAVAILABLE',
      detail: 'Error requesting upstream of service main/svc',
    });
  });

  it('retries only connect-class failures that happened before undici handed the request to a socket', () => {
    expect(isRetryable(err('ECONNREFUSED'), false)).toBe(true);
    expect(isRetryable(err('UND_ERR_CLOSED'), false)).toBe(true);
    expect(isRetryable(err('ECONNRESET'), true)).toBe(false);
    expect(isRetryable(err('UND_ERR_HEADERS_TIMEOUT'), false)).toBe(false);
    expect(isRetryable(new Error('no code'), false)).toBe(false);
  });

  it('answers every "no replica" case 503 with Retry-After, each with its own code', () => {
    for (const r of [noReplicas('main/svc'), notReadyInTime('main/svc'), holdQueueFull('main/svc')]) {
      expect(r.status).toBe(503);
      expect(r.headers?.['retry-after']).toBe('5');
      expect(r.detail).toContain('main/svc');
    }
    expect([noReplicas('s').code, notReadyInTime('s').code, holdQueueFull('s').code]).toEqual([
      'NO_READY_REPLICAS',
      'NO_READY_REPLICAS',
      'SCALE_UP_QUEUE_FULL',
    ]);
  });
});
