/**
 * Proxy-generated answers, in one place: JSON `{detail}` bodies as dstack's proxy sends them, and the mapping of
 * undici transport failures to 502/503/504 by error *code* (never by message text; STYLE.md "Errors").
 */
import type { ServerResponse } from 'node:http';

/** Seconds a client should wait before retrying when no replica is ready (the autoscaler is starting one). */
export const RETRY_AFTER_S = 5;

export interface Rejection {
  status: number;
  detail: string;
  headers?: Record<string, string>;
}

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

/** The answer for a failed upstream attempt, before any response byte was sent to the client. */
export function upstreamRejection(err: unknown, service: string): Rejection {
  switch (errorCode(err)) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return { status: 504, detail: 'Timed out requesting upstream' };
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
      return { status: 400, detail: 'Request body does not match its Content-Length' };
    default:
      return { status: 502, detail: `Error requesting upstream of service ${service}` };
  }
}

export function notFound(detail = 'Not Found'): Rejection {
  return { status: 404, detail };
}

export function noReplicas(service: string): Rejection {
  return { status: 503, detail: `Service ${service} has no ready replicas`, headers: { 'retry-after': String(RETRY_AFTER_S) } };
}

export function sendRejection(res: ServerResponse, rejection: Rejection): void {
  if (res.headersSent) {
    // Part of a response is already out: the only honest signal left is a cut connection.
    res.destroy();
    return;
  }
  const body = JSON.stringify({ detail: rejection.detail });
  res.writeHead(rejection.status, {
    ...rejection.headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** The same answer written on a raw socket (WebSocket upgrades have no ServerResponse). */
export function rejectionBytes(rejection: Rejection): string {
  const body = JSON.stringify({ detail: rejection.detail });
  const extra = Object.entries(rejection.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return (
    `HTTP/1.1 ${rejection.status} ${STATUS_TEXT[rejection.status] ?? 'Error'}\r\n${extra}` +
    `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  );
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};
