/**
 * Header rewriting for the service proxy, as small pure functions over flat `[name, value, …]` arrays (the form
 * both node:http `rawHeaders` and undici's raw handler use, so no object is built per request: proxy-bench.md).
 * Hop-by-hop fields are dropped per RFC 9110 §7.6.1: `Connection`, every field it names, and the fields a proxy
 * must not forward (Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade).
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
/** Name lengths of the hop-by-hop fields: a field of another length needs no lower-casing to be ruled out. */
const HOP_LENGTHS = new Uint8Array(32);
for (const name of HOP_BY_HOP) HOP_LENGTHS[name.length] = 1;

/** Request-only: set by us (X-Forwarded-*), or refused by undici (`Expect`; node:http already answered 100-continue). */
const REQUEST_DROPPED = new Set(['x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-prefix', 'expect']);

export interface Forwarded {
  clientIp: string;
  proto: 'http' | 'https';
  /** The client's Host, as X-Forwarded-Host. */
  host: string | undefined;
  /** `/proxy/services/<p>/<run>` when the prefix is stripped, so apps can build their own URLs. */
  prefix: string | undefined;
  /**
   * True on `auth: true` routes: the proxy consumed the Bearer token, and it is the member's key to the daemon, so
   * a replica running a third-party image must not see it. On `auth: false` the header is the app's own.
   */
  dropAuthorization: boolean;
}

/** The field names a `Connection` header lists (they are hop-by-hop for this message only). */
function connectionTokens(value: string): Set<string> | undefined {
  // The common values name no other field: skip building a Set on every keep-alive response.
  if (value.length <= 10) {
    const v = value.toLowerCase();
    if (v === 'keep-alive' || v === 'close') return undefined;
  }
  return new Set(value.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean));
}

function findConnection(raw: readonly string[]): Set<string> | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') return connectionTokens(raw[i + 1] ?? '');
  }
  return undefined;
}

/**
 * One pass over the client's `rawHeaders`: the fields to forward, plus what the proxy itself needs. Reading
 * `req.headers` instead would make node:http build a header object per request (a lazy getter), which costs more
 * than the whole pass.
 */
export interface ScannedRequest {
  headers: string[];
  authorization: string | undefined;
  /** Where the Authorization name sits in `headers` (-1: none), so `addForwarded` can drop it without a rescan. */
  authorizationAt: number;
  /**
   * More than one Authorization field: refused, since which one auth checks and which one the replica trusts
   * could differ.
   */
  ambiguousAuthorization: boolean;
  host: string | undefined;
  /** Content-Length > 0 or Transfer-Encoding present (RFC 9112 §6.3): the request has a body to stream. */
  hasBody: boolean;
  /** Earlier proxies' X-Forwarded-For, to which the client's address is appended. */
  forwardedFor: string | undefined;
}

/**
 * What the scan does with a request field, by lower-cased name. Without a Connection header naming fields, a name
 * is lower-cased and looked up only when its length is one of these names' (`KIND_LENGTHS`): most fields skip both.
 */
const enum Kind {
  Forward,
  Drop,
  TransferEncoding,
  ForwardedFor,
  Authorization,
  Host,
  ContentLength,
}

const KINDS = new Map<string, Kind>([
  ...[...HOP_BY_HOP, ...REQUEST_DROPPED].map((n): [string, Kind] => [n, Kind.Drop]),
  ['transfer-encoding', Kind.TransferEncoding],
  ['x-forwarded-for', Kind.ForwardedFor],
  ['authorization', Kind.Authorization],
  ['host', Kind.Host],
  ['content-length', Kind.ContentLength],
]);
const KIND_LENGTHS = new Uint8Array(64);
for (const name of KINDS.keys()) KIND_LENGTHS[name.length] = 1;

function kindOf(name: string, listed: Set<string> | undefined): Kind {
  if (listed === undefined) {
    if (name.length >= 64 || KIND_LENGTHS[name.length] === 0) return Kind.Forward;
    return KINDS.get(name.toLowerCase()) ?? Kind.Forward;
  }
  const lower = name.toLowerCase();
  const kind = KINDS.get(lower);
  // Transfer-Encoding says the request has a body even when Connection lists it; any other listed field is dropped.
  if (kind === Kind.TransferEncoding) return kind;
  if (listed.has(lower)) return Kind.Drop;
  return kind ?? Kind.Forward;
}

export function scanRequestHeaders(raw: readonly string[]): ScannedRequest {
  const listed = findConnection(raw);
  const scan: ScannedRequest = {
    headers: [],
    authorization: undefined,
    authorizationAt: -1,
    ambiguousAuthorization: false,
    host: undefined,
    hasBody: false,
    forwardedFor: undefined,
  };
  const out = scan.headers;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    switch (kindOf(name, listed)) {
      case Kind.Drop:
        continue;
      case Kind.TransferEncoding:
        scan.hasBody = true;
        continue;
      case Kind.ForwardedFor:
        scan.forwardedFor = scan.forwardedFor === undefined ? value : `${scan.forwardedFor}, ${value}`;
        continue;
      case Kind.Authorization:
        if (scan.authorizationAt >= 0) scan.ambiguousAuthorization = true;
        scan.authorization = value;
        scan.authorizationAt = out.length;
        break;
      case Kind.Host:
        scan.host = value;
        break;
      case Kind.ContentLength:
        if (value !== '0') scan.hasBody = true;
        break;
      case Kind.Forward:
        break;
    }
    out.push(name, value);
  }
  return scan;
}

/** Appends X-Forwarded-For/Proto/Host/Prefix to the scanned headers and returns the array to send upstream. */
export function addForwarded(scan: ScannedRequest, forwarded: Forwarded): string[] {
  const out = scan.headers;
  const at = scan.authorizationAt;
  if (forwarded.dropAuthorization && at >= 0) {
    // In place: the array is ours (built by the scan), and a copy per request is what the scan exists to avoid.
    out.copyWithin(at, at + 2);
    out.length -= 2;
    scan.authorizationAt = -1;
  }
  out.push('x-forwarded-for', scan.forwardedFor === undefined ? forwarded.clientIp : `${scan.forwardedFor}, ${forwarded.clientIp}`);
  out.push('x-forwarded-proto', forwarded.proto);
  if (forwarded.host !== undefined) out.push('x-forwarded-host', forwarded.host);
  if (forwarded.prefix !== undefined) out.push('x-forwarded-prefix', forwarded.prefix);
  return out;
}

/** Client response headers from undici's raw `Buffer[]` (latin1, as HTTP/1.1 field values are octets). */
export function responseHeaders(raw: readonly Buffer[]): string[] {
  const out: string[] = [];
  let listed: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    if (name.length < 32 && HOP_LENGTHS[name.length] === 1) {
      const lower = name.toLowerCase();
      if (lower === 'connection') listed = connectionTokens(raw[i + 1]!.toString('latin1'));
      if (HOP_BY_HOP.has(lower)) continue;
    }
    out.push(name, raw[i + 1]!.toString('latin1'));
  }
  if (!listed) return out;
  return out.filter((_, i) => i % 2 === 0 ? !listed.has(out[i]!.toLowerCase()) : !listed.has(out[i - 1]!.toLowerCase()));
}

/** The client's address without the IPv4-mapped IPv6 prefix node:http reports on dual-stack sockets. */
export function clientIpOf(remoteAddress: string | undefined): string {
  if (!remoteAddress) return '';
  return remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress;
}

export function hasContentLength(flat: readonly string[]): boolean {
  for (let i = 0; i < flat.length; i += 2) {
    if (flat[i]!.length === 14 && flat[i]!.toLowerCase() === 'content-length') return true;
  }
  return false;
}
