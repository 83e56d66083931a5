/**
 * Why an upstream attempt ended without a response, in one place for the service proxy, WebSockets and the model
 * endpoint: undici transport failures mapped by error *code* (never by message text; STYLE.md "Errors") to the
 * status dstack's proxy answers, and the answers of the attempt itself (no replica, cold-start hold exhausted).
 */

/** Seconds a client should wait before retrying when no replica is ready (the autoscaler is starting one). */
export const RETRY_AFTER_S = 5;

/** A proxy-generated answer: `{detail}` JSON for HTTP clients, a DstackError (by `code`) for the model endpoint. */
export interface Rejection {
  status: number;
  detail: string;
  /** SCREAMING_SNAKE, stable: the model endpoint answers it as the OpenAI error `code` (lowercased). */
  code?: Uppercase<string>;
  headers?: Record<string, string>;
}

export type UpstreamRejection = Rejection & { code: Uppercase<string> };

/** Transport failures where the request could not have reached the replica's application. */
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  // The replica's Pool was closed (it left the route table) or destroyed while the request waited for a socket.
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);

export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * True when a failed attempt may go to another replica: a transport failure before undici handed the request to a
 * socket (`onConnect` not called yet), so no byte reached the replica and any method is safe to resend.
 */
export function isRetryable(err: unknown, connected: boolean): boolean {
  return !connected && CONNECT_CODES.has(errorCode(err) ?? '');
}

/** Allocated once: the client leaving is the one failure every adapter sees on its hot path. */
export const CLIENT_GONE: UpstreamRejection = Object.freeze({ status: 499, code: 'REQUEST_ABORTED', detail: 'The client went away' });

/** The answer for a failed upstream attempt, before any response byte was sent to the client. */
export function upstreamRejection(err: unknown, service: string): UpstreamRejection {
  switch (errorCode(err)) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return { status: 504, code: 'UPSTREAM_TIMEOUT', detail: 'Timed out requesting upstream' };
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
      return { status: 400, code: 'BAD_CONTENT_LENGTH', detail: 'Request body does not match its Content-Length' };
    case 'UND_ERR_ABORTED':
      return CLIENT_GONE;
    default:
      if ((err as { name?: unknown } | null)?.name === 'AbortError') return CLIENT_GONE;
      return { status: 502, code: 'UPSTREAM_UNAVAILABLE', detail: `Error requesting upstream of service ${service}` };
  }
}

const retryLater: Readonly<Record<string, string>> = Object.freeze({ 'retry-after': String(RETRY_AFTER_S) });

export function noReplicas(service: string): UpstreamRejection {
  return { status: 503, code: 'NO_READY_REPLICAS', detail: `Service ${service} has no ready replicas`, headers: retryLater };
}

/** The cold-start hold ran out of time (or the service went away) before a replica was ready. */
export function notReadyInTime(service: string): UpstreamRejection {
  return { status: 503, code: 'NO_READY_REPLICAS', detail: `Service ${service} has no ready replicas yet`, headers: retryLater };
}

export function holdQueueFull(service: string): UpstreamRejection {
  return {
    status: 503,
    code: 'SCALE_UP_QUEUE_FULL',
    detail: `Service ${service} is scaling up and too many requests are waiting`,
    headers: retryLater,
  };
}
