/**
 * Proxy-generated answers written to HTTP clients: JSON `{detail}` bodies as dstack's proxy sends them, on a
 * ServerResponse or a raw socket. Which answer an upstream failure gets is decided in `upstream/failures.ts`.
 */
import type { ServerResponse } from 'node:http';
import type { Rejection } from '../upstream/failures.js';

export type { Rejection };

export function notFound(detail = 'Not Found'): Rejection {
  return { status: 404, detail };
}

/**
 * Two Authorization fields: auth would check one while the replica may read the other (RFC 9110 §5.3: a field
 * that is not a list must not repeat), so the request is refused whatever the route's `auth`.
 */
export const AMBIGUOUS_AUTHORIZATION: Rejection = Object.freeze({
  status: 400,
  code: 'AMBIGUOUS_AUTHORIZATION',
  detail: 'More than one Authorization header',
});

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
