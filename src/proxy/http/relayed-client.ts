/**
 * Requests a standby server relays to the leader (issue 17, HA) arrive from the standby's address. The standby
 * proves it is one of ours with `X-Dstack-Relay: <the relay key of the current lease>` and appends its client's
 * address to X-Forwarded-For; with a valid key the leader treats that address as the connection's own (per-address
 * login and rate limits, X-Forwarded-For to replicas, logs), as proxy workers' relays do (workers/relay.ts). The key
 * header never goes further, with or without a valid key, and a wrong key trusts nothing.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const RELAY_HEADER = 'x-dstack-relay';
/** The address the socket was accepted from, kept once it is redefined (a kept-alive socket may carry more requests). */
const ACCEPTED_FROM = Symbol('dstack.acceptedFrom');

type MarkedSocket = IncomingMessage['socket'] & { [ACCEPTED_FROM]?: string | undefined };

const keyMatches = (given: string, key: string): boolean => {
  const a = Buffer.from(given), b = Buffer.from(key);
  return a.length === b.length && timingSafeEqual(a, b);
};

/** Drops `name` (lower-case) from the parsed and the raw headers. */
function dropHeader(req: IncomingMessage, name: string): void {
  delete req.headers[name];
  const raw = req.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) if (raw[i]!.toLowerCase() === name) raw.splice(i, 2);
}

function setRemoteAddress(socket: MarkedSocket, ip: string | undefined): void {
  Object.defineProperty(socket, 'remoteAddress', { value: ip, configurable: true });
}

/**
 * Call first for every request and upgrade. `key`: the current relay key (undefined or '': relays are not
 * trusted). A relayed request's socket then reports the client's address, and X-Forwarded-For loses its last
 * entry (the proxy adds the address back when it forwards).
 */
export function adoptRelayedClient(req: IncomingMessage, key: (() => string | undefined) | undefined): void {
  const socket = req.socket as MarkedSocket;
  // A socket redefined for an earlier request reports what it was accepted from unless this one is relayed too.
  if (ACCEPTED_FROM in socket) setRemoteAddress(socket, socket[ACCEPTED_FROM]);
  const given = req.headers[RELAY_HEADER];
  if (given === undefined) return;
  dropHeader(req, RELAY_HEADER);
  const current = key?.();
  if (!current || typeof given !== 'string' || !keyMatches(given, current)) return;
  const forwarded = req.headers['x-forwarded-for'];
  const list = (Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? '')).split(',').map((s) => s.trim()).filter(Boolean);
  const client = list.pop();
  if (!client) return;
  if (!(ACCEPTED_FROM in socket)) socket[ACCEPTED_FROM] = socket.remoteAddress;
  setRemoteAddress(socket, client);
  dropHeader(req, 'x-forwarded-for');
  if (list.length > 0) {
    const rest = list.join(', ');
    req.headers['x-forwarded-for'] = rest;
    req.rawHeaders.push('X-Forwarded-For', rest);
  }
}
