/**
 * Header filtering for the `format: openai` pass-through. Hop-by-hop headers are per connection
 * (RFC 9110 §7.6.1) and never forwarded, including those the Connection header names.
 */
import type { IncomingHttpHeaders } from 'node:http';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);

/**
 * `authorization` carries the dstack project token: the replica must not see it (it is not the model server's key).
 * `host` and `content-length` are set by the forwarder for the upstream request.
 */
const NOT_TO_REPLICA = new Set(['host', 'authorization', 'cookie', 'content-length']);

function connectionListed(value: string | string[] | undefined): Set<string> {
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return new Set(joined.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
}

/**
 * More than one Authorization field in node:http's `rawHeaders`: refused, because `req.headers` keeps only the
 * first while another hop may read the last (the service proxy refuses the same, see http/admission.ts).
 */
export function hasAmbiguousAuthorization(raw: readonly string[]): boolean {
  let seen = false;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length !== 13 || raw[i]!.toLowerCase() !== 'authorization') continue;
    if (seen) return true;
    seen = true;
  }
  return false;
}

export function requestHeadersForReplica(headers: IncomingHttpHeaders): Record<string, string> {
  const listed = connectionListed(headers.connection);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || NOT_TO_REPLICA.has(name) || listed.has(name)) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** Response headers to relay; `server` and `date` are the replica's and are dropped as dstack does. */
export function responseHeadersForClient(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const listed = connectionListed(headers.connection);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(lower) || listed.has(lower) || lower === 'server' || lower === 'date') continue;
    out[lower] = value;
  }
  return out;
}
