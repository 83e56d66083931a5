/**
 * A standby server's handler (issue 17, several servers on one database): every request and upgrade goes to the
 * leader's advertised URL, so state, reconciling and per-service stats stay in one process and routes never
 * travel. Bodies stream both ways (SSE chunk by chunk), upgrades are piped as raw bytes, the client's headers
 * (Authorization included) pass unchanged plus X-Forwarded-For / -Proto. While no leader is known, or its
 * address refuses before a byte was sent (it was killed; the next one is taking over), a request is held and
 * retried every 250 ms for up to 20 s, then answered 503 NO_LEADER. Only `GET /api/health` is answered here.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, rootCertificates } from 'node:tls';
import type { Health } from '../../core/api.js';

export const RELAY_RETRY_MS = 250;
export const RELAY_HOLD_MS = 20_000;

export interface RelayOptions {
  /** The leader's advertised URL as the lease row says; undefined while none leads. */
  leader: () => string | undefined;
  /** The leader's relay key (its lease row): sent as X-Dstack-Relay so the leader trusts the X-Forwarded-For added here. */
  relayKey?: () => string | undefined;
  /** This server's scheme: what the client used (X-Forwarded-Proto). */
  scheme: 'http' | 'https';
  /** This server's own certificate (PEM): servers of one database normally share it, so it is trusted too. */
  extraCa?: string | Buffer;
  health: () => Health;
  /** Why the leader could not be reached, when it is not simply down (a certificate it failed, a DNS name). */
  log?: (line: string) => void;
  retryMs?: number;
  holdMs?: number;
}

export interface LeaderRelay {
  /** Serves a connection accepted by the standby's listener (TLS already terminated). */
  accept(socket: Duplex): void;
  /**
   * Stops taking requests. On a takeover (`hard` false) those in flight finish, answered by the old or new leader;
   * when the server stops (`hard`), every connection and tunnel ends.
   */
  close(hard?: boolean): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);
/** The URL's host without IPv6 brackets. */
const hostOf = (url: URL) => url.hostname.replace(/^\[|\]$/g, '');
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Headers for the leader: the client's own, minus hop-by-hop ones, plus where it came from. */
export function forwardedHeaders(headers: IncomingHttpHeaders, clientIp: string | undefined, scheme: string, keepUpgrade: boolean, relayKey?: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    // A client's own relay header never passes: the leader would reject it, and only ours may vouch for the address.
    if (value === undefined || name === 'x-dstack-relay') continue;
    if (HOP_BY_HOP.has(name) && !(keepUpgrade && (name === 'connection' || name === 'upgrade'))) continue;
    out[name] = value;
  }
  const prior = headers['x-forwarded-for'];
  const ip = clientIp ?? '';
  out['x-forwarded-for'] = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${ip}` : ip;
  if (!headers['x-forwarded-proto']) out['x-forwarded-proto'] = scheme;
  if (relayKey) out['x-dstack-relay'] = relayKey;
  return out;
}

const NO_LEADER = { code: 'NO_LEADER', message: 'No dstack server leads this database right now', hint: 'Retry shortly: a standby server takes over within seconds.' };
// Top-level code/message for dstack clients (fromWire), `error` for anything expecting the nested shape.
const NO_LEADER_BODY = JSON.stringify({ ...NO_LEADER, error: NO_LEADER });

function noLeader(res: ServerResponse): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
  res.end(NO_LEADER_BODY);
}

export function createLeaderRelay(o: RelayOptions): LeaderRelay {
  const retryMs = o.retryMs ?? RELAY_RETRY_MS;
  const holdMs = o.holdMs ?? RELAY_HOLD_MS;
  const ca = o.extraCa ? [...rootCertificates, o.extraCa.toString()] : undefined;
  const tunnels = new Set<Duplex>();
  const reported = new Map<string, number>();
  /** Once a minute per cause: a refused connection is the usual takeover gap and is not reported. */
  const report = (target: URL, e: NodeJS.ErrnoException): void => {
    if (!o.log || e.code === 'ECONNREFUSED') return;
    const line = `relay: the leader at ${target.origin} is unreachable: ${e.message}`;
    const now = Date.now();
    if ((reported.get(line) ?? 0) > now - 60_000) return;
    reported.set(line, now);
    o.log(line);
  };

  /** The leader's URL, waiting (bounded) while none is known. */
  const leaderBy = async (deadline: number): Promise<URL | undefined> => {
    for (;;) {
      const url = o.leader();
      if (url) return new URL(url);
      if (Date.now() >= deadline) return undefined;
      await sleep(retryMs);
    }
  };

  /** One try; resolves false when it failed before anything was sent (the caller retries), true otherwise. */
  const tryRequest = (target: URL, req: IncomingMessage, res: ServerResponse): Promise<boolean> =>
    new Promise((resolve) => {
      const https = target.protocol === 'https:';
      const up = (https ? httpsRequest : httpRequest)({
        protocol: target.protocol,
        hostname: hostOf(target),
        port: target.port || (https ? 443 : 80),
        method: req.method,
        path: req.url,
        headers: forwardedHeaders(req.headers, req.socket.remoteAddress, o.scheme, false, o.relayKey?.()),
        agent: false,
        ...(https ? { ...(isIP(hostOf(target)) ? {} : { servername: hostOf(target) }), ...(ca ? { ca } : {}) } : {}),
      });
      let sent = false;
      up.once('socket', (socket: Socket) => {
        const start = () => {
          sent = true;
          req.pipe(up);
        };
        if (!socket.connecting) start();
        else socket.once(https ? 'secureConnect' : 'connect', start);
      });
      up.on('response', (answer) => {
        const headers: string[] = [];
        for (let i = 0; i < answer.rawHeaders.length; i += 2) {
          if (!HOP_BY_HOP.has(answer.rawHeaders[i]!.toLowerCase())) headers.push(answer.rawHeaders[i]!, answer.rawHeaders[i + 1]!);
        }
        res.writeHead(answer.statusCode ?? 502, headers);
        // SSE: every chunk goes out as it comes.
        res.flushHeaders();
        answer.pipe(res);
        answer.on('error', () => res.destroy());
        resolve(true);
      });
      up.on('error', (e: NodeJS.ErrnoException) => {
        if (!sent) {
          report(target, e);
          return resolve(false);
        }
        if (!res.headersSent) {
          const gone = { code: 'LEADER_UNREACHABLE', message: 'The leading dstack server stopped answering' };
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ...gone, error: gone }));
        } else res.destroy();
        resolve(true);
      });
      // The client went away: end the leader's side too (SSE streams end this way).
      res.on('close', () => {
        if (!res.writableFinished) up.destroy();
      });
    });

  // After a takeover: what still arrives on the relay's connections goes to this server's data plane (health
  // included), and each connection closes after its answer, so clients reconnect to the data plane directly.
  let draining = false;
  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (draining) res.shouldKeepAlive = false;
    else if (req.method === 'GET' && (req.url === '/api/health' || req.url?.startsWith('/api/health?'))) {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(o.health()));
      return;
    }
    const deadline = Date.now() + holdMs;
    for (;;) {
      const target = await leaderBy(deadline);
      if (!target || res.destroyed) return noLeader(res);
      if (await tryRequest(target, req, res)) return;
      if (Date.now() >= deadline) return noLeader(res);
      await sleep(retryMs);
    }
  };

  /** The upgrade request goes out as raw bytes once connected, then both sockets are piped. */
  const connectUpgrade = (target: URL, req: IncomingMessage, head: Buffer): Promise<Duplex | undefined> =>
    new Promise((resolve) => {
      const https = target.protocol === 'https:';
      const host = hostOf(target);
      const port = Number(target.port || (https ? 443 : 80));
      const socket: Socket = https
        ? tlsConnect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...(ca ? { ca } : {}), ALPNProtocols: ['http/1.1'] })
        : netConnect({ host, port });
      socket.once('error', (e: NodeJS.ErrnoException) => {
        report(target, e);
        resolve(undefined);
      });
      socket.once(https ? 'secureConnect' : 'connect', () => {
        const headers = forwardedHeaders(req.headers, req.socket.remoteAddress, o.scheme, true, o.relayKey?.());
        const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
        for (const [name, value] of Object.entries(headers)) for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
        socket.write(`${lines.join('\r\n')}\r\n\r\n`);
        if (head.length > 0) socket.write(head);
        resolve(socket);
      });
    });

  const onUpgrade = async (req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> => {
    tunnels.add(client);
    client.once('close', () => tunnels.delete(client));
    client.on('error', () => client.destroy());
    const deadline = Date.now() + holdMs;
    for (;;) {
      const target = await leaderBy(deadline);
      if (!target || client.destroyed) break;
      const up = await connectUpgrade(target, req, head);
      if (up) {
        up.pipe(client);
        client.pipe(up);
        up.on('error', () => client.destroy());
        up.on('close', () => client.destroy());
        client.on('close', () => up.destroy());
        return;
      }
      if (Date.now() >= deadline) break;
      await sleep(retryMs);
    }
    if (client.writable) {
      client.end(`HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(NO_LEADER_BODY)}\r\nconnection: close\r\n\r\n${NO_LEADER_BODY}`);
    }
  };

  const server = createServer((req, res) => void onRequest(req, res));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void onUpgrade(req, socket, head));
  server.on('clientError', (_e, socket: Duplex) => socket.destroy());
  return {
    accept: (socket) => server.emit('connection', socket),
    close: async (hard = false) => {
      draining = true;
      // Never listened itself (sockets come from the standby's listener): close() only stops keep-alive reuse.
      server.close(() => undefined);
      server.closeIdleConnections();
      if (!hard) return;
      server.closeAllConnections();
      for (const t of tunnels) t.destroy();
    },
  };
}
