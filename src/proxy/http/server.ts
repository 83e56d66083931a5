/**
 * The daemon's HTTP server: one listener for the control API (`/api/*`, `/metrics`), the model endpoint
 * (`/proxy/models/*`) and the service proxy (`/proxy/services/*`, WebSockets included). Everything else is a JSON
 * 404 as dstack answers under `/proxy`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createListener, Socket, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Authenticate, RouteTable } from '../contracts.js';
import { FastFront } from '../fast/front.js';
import { RateLimiter } from '../routing/rate-limiter.js';
import { HeldRequests } from '../routing/held-requests.js';
import { heldRequestsOf, upstreamsOf } from '../routing/route-table.js';
import type { Random } from '../routing/select.js';
import { Upstreams, type UpstreamsOptions } from '../routing/upstreams.js';
import type { StatsSink } from '../stats/stats-sink.js';
import { ColdStartHold, holdOptions } from '../upstream/hold.js';
import { SERVICES_PREFIX, parseServicePath } from './admission.js';
import type { ProxyContext, ProxyLog } from './context.js';
import { notFound, rejectionBytes, sendRejection } from './errors.js';
import { LoginLimiter, tooManyLogins, watchLogin, type LoginLimits } from './login-limiter.js';
import { adoptRelayedClient } from './relayed-client.js';
import { handleServiceRequest } from './service-proxy.js';
import { handleUpgrade } from './websocket.js';

/** Idle kept-alive client connections close after this (node:http's keepAliveTimeout, on both paths). */
const KEEP_ALIVE_MS = 65_000;

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface ProxyServerOptions {
  routes: RouteTable;
  authenticate: Authenticate;
  /** `/api/*` and `/metrics` (the control-plane engineer's router). */
  controlApi?: RequestHandler;
  /** Upgrades under `/api/` (the control plane's attach tunnel); the proxy's WebSockets take the rest. */
  controlUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** `/proxy/models/*` (the models endpoint). */
  modelsApi?: RequestHandler;
  stats?: StatsSink;
  /** The `rate_limits` buckets; passed in by the daemon so it can forget a finished run's. */
  limiter?: RateLimiter;
  /** ms since the epoch; injected for rate limits and stats. */
  clock?: () => number;
  /** [0, 1); breaks ties between equally loaded replicas. */
  random?: Random;
  log?: ProxyLog;
  /** Called on the first request held while a service has no replica and may scale from zero. */
  onColdStart?: (project: string, run: string) => void;
  /** Default 256 held requests per service. */
  maxHeldPerService?: number;
  /** Default 600 000 ms (model loading). */
  holdTimeoutMs?: number;
  /** Proxy workers: requests and upgrades this process must not serve itself go to controlApi/controlUpgrade. */
  relay?: (url: string) => boolean;
  /** Pool sizing when `routes` is not a MemoryRouteTable (which brings its own). */
  upstreams?: UpstreamsOptions;
  /** Failed-login limits per client address (default 10 wrong tokens in 60 s), for every route on this listener. */
  loginLimits?: LoginLimits;
  /** The web dashboard (`/`, `/ui/*`): answers and returns true for its paths, before the 404. */
  dashboard?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** The current HA relay key (relayed-client.ts): a standby's requests then count as its clients'. Undefined: off. */
  relayKey?: () => string | undefined;
}

export interface ProxyServer {
  listen(port: number, host?: string): Promise<{ port: number }>;
  /** Serves a connection accepted elsewhere (a listener shared with proxy workers, a unix socket, a TLS front). */
  accept(socket: Duplex): void;
  close(): Promise<void>;
}

export function createProxyServer(options: ProxyServerOptions): ProxyServer {
  let owned: Upstreams | undefined;
  const ctx: ProxyContext = {
    routes: options.routes,
    upstreams: upstreamsOf(options.routes, () => (owned = new Upstreams(options.upstreams))),
    authenticate: options.authenticate,
    limiter: options.limiter ?? new RateLimiter(),
    stats: options.stats,
    clock: options.clock ?? Date.now,
    random: options.random ?? Math.random,
    log: options.log ?? (() => undefined),
    // Held counts live with the route table, so the model endpoint's forwarder over the same table shares them.
    hold: new ColdStartHold(options.routes, heldRequestsOf(options.routes, () => new HeldRequests()), holdOptions(options)),
  };
  const { controlApi, modelsApi, relay } = options;
  const logins = new LoginLimiter(options.loginLimits, ctx.clock);
  // Requests with a token from an address that failed too often are refused before any token check runs.
  const blocked = (req: IncomingMessage): number | undefined => {
    if (req.headers.authorization === undefined) return undefined;
    const wait = logins.retryAfterSeconds(req.socket.remoteAddress);
    if (wait === undefined) watchLogin(req, logins);
    return wait;
  };

  const server = createServer(
    // requestTimeout off: a request held for a cold start keeps its body unread for up to holdTimeoutMs.
    { requestTimeout: 0, noDelay: true, keepAliveTimeout: KEEP_ALIVE_MS },
    (req, res) => {
      adoptRelayedClient(req, options.relayKey);
      const wait = blocked(req);
      if (wait !== undefined) return sendRejection(res, tooManyLogins(wait));
      const url = req.url ?? '/';
      if (relay !== undefined && controlApi && relay(url)) return controlApi(req, res);
      if (url.startsWith(SERVICES_PREFIX)) {
        const sp = parseServicePath(url);
        return sp ? handleServiceRequest(ctx, req, res, sp) : sendRejection(res, notFound());
      }
      if (modelsApi && (url.startsWith('/proxy/models/') || url === '/proxy/models')) return modelsApi(req, res);
      if (controlApi && (url.startsWith('/api/') || url === '/api' || url === '/metrics' || url.startsWith('/metrics?'))) {
        return controlApi(req, res);
      }
      if (options.dashboard?.(req, res)) return;
      sendRejection(res, notFound());
    },
  );
  // Upgraded sockets leave node:http's bookkeeping (closeAllConnections skips them): track them for close().
  const tunnels = new Set<Duplex>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    adoptRelayedClient(req, options.relayKey);
    tunnels.add(socket);
    socket.once('close', () => tunnels.delete(socket));
    const wait = blocked(req);
    if (wait !== undefined) return void socket.end(rejectionBytes(tooManyLogins(wait)));
    if (options.controlUpgrade && (req.url?.startsWith('/api/') || relay?.(req.url ?? '/'))) return options.controlUpgrade(req, socket, head);
    handleUpgrade(ctx, req, socket, head);
  });
  // Plain-TCP connections are read by the fast path first; what it does not serve, node:http gets unread.
  const fast = new FastFront({
    ctx,
    fallback: (socket) => server.emit('connection', socket),
    relay,
    loginBlocked: (address) => logins.retryAfterSeconds(address) !== undefined,
    keepAliveTimeoutMs: KEEP_ALIVE_MS,
  });
  const accept = (socket: Duplex): void => {
    if (socket instanceof Socket && !(socket as Socket & { encrypted?: boolean }).encrypted) fast.accept(socket);
    else server.emit('connection', socket);
  };
  // allowHalfOpen as node:http's own listener, which decides itself what a client ending its side means.
  const listener = createListener({ allowHalfOpen: true, noDelay: true }, accept);
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });

  return {
    listen: (port, host = '127.0.0.1') =>
      new Promise((resolve, reject) => {
        listener.once('error', reject);
        listener.listen(port, host, () => {
          listener.off('error', reject);
          resolve({ port: (listener.address() as AddressInfo).port });
        });
      }),
    accept,
    close: async () => {
      await new Promise<void>((resolve) => {
        if (listener.listening) listener.close();
        fast.closeAll();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of tunnels) socket.destroy();
      });
      await owned?.close();
    },
  };
}
