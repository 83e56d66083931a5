/**
 * The data plane's fast path (issue 15, proxy hot path): plain-TCP connections are read here first, and a request
 * that needs nothing but forwarding — `/proxy/services/<p>/<run>/…` of a routed service with a ready replica on a
 * loopback origin, its token accepted, no rate limits, router paths or holds, a plain HTTP/1.1 head
 * (request-head.ts) — is forwarded on raw sockets (exchange.ts) without node:http's per-request objects.
 *
 * Every other request, and every request after it on that connection, goes to node:http exactly as it arrived:
 * nothing has been answered or consumed, the bytes read are given back to the socket, and node:http takes the
 * connection over. So everything the fast path does not do (401/403/429 answers and failed-login counting, holds
 * for a cold start, WebSockets, the control API, the dashboard, the models endpoint, TLS) keeps one implementation.
 */
import type { Socket } from 'node:net';
import type { ProxyContext } from '../http/context.js';
import { SERVICES_PREFIX, parseServicePath } from '../http/admission.js';
import { bearerToken } from '../http/auth.js';
import { addForwarded, clientIpOf, scanRequestHeaders } from '../http/headers.js';
import { pickReplica } from '../routing/select.js';
import { FastExchange, type ClientSide } from './exchange.js';
import { readRequestHead, type RequestHead } from './request-head.js';

export interface FastFrontOptions {
  ctx: ProxyContext;
  /** node:http's connection handler: it serves the socket from the bytes given back on. */
  fallback: (socket: Socket) => void;
  /** Proxy workers: paths the primary serves. */
  relay?: (url: string) => boolean;
  /** True while failed logins block the address (the node:http path answers 429). */
  loginBlocked: (remoteAddress: string | undefined) => boolean;
  /** Idle time after which a kept-alive client connection is closed (node:http's keepAliveTimeout). */
  keepAliveTimeoutMs: number;
}

const CRLF2 = Buffer.from('\r\n\r\n');
/** node:http's maxHeaderSize: a longer head goes to node:http, which answers 431. */
const MAX_HEAD = 16 * 1024;

export class FastFront {
  private readonly conns = new Set<ClientConn>();

  constructor(private readonly options: FastFrontOptions) {}

  accept(socket: Socket): void {
    new ClientConn(this, socket, this.options.keepAliveTimeoutMs);
  }

  /** Ends every connection still read here (node:http's close ends the ones it took). */
  closeAll(): void {
    for (const conn of this.conns) conn.socket.destroy();
    this.conns.clear();
  }

  /** @internal */
  track(conn: ClientConn, open: boolean): void {
    if (open) this.conns.add(conn);
    else this.conns.delete(conn);
  }

  /** @internal the exchange for `head`, or undefined when node:http must serve it. */
  exchangeFor(head: RequestHead, conn: ClientConn, body: Buffer | undefined): FastExchange | undefined {
    const { ctx, relay, loginBlocked } = this.options;
    const url = head.url;
    if (!url.startsWith(SERVICES_PREFIX) || relay?.(url)) return undefined;
    const sp = parseServicePath(url);
    if (!sp || sp.rest === '') return undefined;
    const route = ctx.routes.get(sp.project, sp.run);
    if (!route || route.router || route.warming || route.rateLimits.length > 0) return undefined;
    const scan = scanRequestHeaders(head.rawHeaders);
    if (scan.ambiguousAuthorization) return undefined;
    if (scan.authorization !== undefined && loginBlocked(conn.socket.remoteAddress)) return undefined;
    if (route.auth) {
      const token = bearerToken(scan.authorization);
      if (token === undefined || ctx.authenticate(sp.project, token) !== 'ok') return undefined;
    }
    const replica = pickReplica(route.replicas, ctx.upstreams.outstanding, ctx.random);
    const pool = replica && ctx.upstreams.socketPool(replica);
    if (!replica || !pool) return undefined;
    const headers = addForwarded(scan, {
      clientIp: conn.clientIp,
      proto: 'http',
      host: scan.host,
      prefix: route.stripPrefix ? sp.base : undefined,
      dropAuthorization: route.auth,
    });
    let text = `${head.method} ${route.stripPrefix ? sp.rest + sp.search : url} HTTP/1.1\r\n`;
    for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
    if (scan.host === undefined) text += `host: ${pool.authority}\r\n`;
    text += '\r\n';
    const bodyLeft = head.contentLength - (body?.length ?? 0);
    return new FastExchange(ctx, conn, route, replica, pool, head.method, text, body, bodyLeft, ctx.clock());
  }

  /** @internal node:http serves `socket` from here on, starting with `unread`. */
  handOff(socket: Socket, unread: Buffer | undefined): void {
    socket.pause();
    if (unread !== undefined && unread.length > 0) socket.unshift(unread);
    this.options.fallback(socket);
    socket.resume();
  }
}

class ClientConn implements ClientSide {
  readonly clientIp: string;
  private buffered: Buffer | undefined;
  private exchange: FastExchange | undefined;
  private ended = false;
  private closing = false;

  constructor(
    private readonly front: FastFront,
    readonly socket: Socket,
    keepAliveTimeoutMs: number,
  ) {
    this.clientIp = clientIpOf(socket.remoteAddress);
    socket.setNoDelay(true);
    socket.setTimeout(keepAliveTimeoutMs);
    for (const [event, listener] of this.listeners) socket.on(event, listener);
    front.track(this, true);
  }

  exchangeDone(close: boolean): void {
    this.exchange = undefined;
    if (close || this.ended) {
      // Whatever the client still sends (the rest of an unread body) is no request: it is dropped, not parsed.
      this.closing = true;
      this.buffered = undefined;
      if (!this.socket.writableEnded) this.socket.end();
      return;
    }
    if (this.socket.isPaused()) this.socket.resume();
    if (this.buffered !== undefined) this.next();
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.closing) return;
    const exchange = this.exchange;
    if (exchange !== undefined) {
      let rest: Buffer | undefined = chunk;
      if (exchange.bodyLeft > 0) {
        const take = Math.min(exchange.bodyLeft, chunk.length);
        const ok = exchange.onClientBody(take === chunk.length ? chunk : chunk.subarray(0, take));
        rest = take === chunk.length ? undefined : chunk.subarray(take);
        if (!ok) this.socket.pause();
      }
      // A pipelined request waits, unread further, until this answer is out.
      if (rest !== undefined) {
        this.buffered = this.buffered ? Buffer.concat([this.buffered, rest]) : rest;
        this.socket.pause();
      }
      return;
    }
    this.buffered = this.buffered ? Buffer.concat([this.buffered, chunk]) : chunk;
    this.next();
  };

  /** Starts the request at the front of `buffered` once its head is complete. */
  private next(): void {
    const buf = this.buffered!;
    const end = buf.indexOf(CRLF2);
    if (end < 0 || end > MAX_HEAD) {
      if (end > MAX_HEAD || buf.length > MAX_HEAD) this.handOff();
      return;
    }
    const head = readRequestHead(buf.toString('latin1', 0, end));
    if (!head) return this.handOff();
    const bodyStart = end + 4;
    const inBuf = Math.min(head.contentLength, buf.length - bodyStart);
    const body = inBuf > 0 ? buf.subarray(bodyStart, bodyStart + inBuf) : undefined;
    const exchange = this.front.exchangeFor(head, this, body);
    if (!exchange) return this.handOff();
    const restAt = bodyStart + inBuf;
    this.buffered = restAt < buf.length ? buf.subarray(restAt) : undefined;
    if (this.buffered !== undefined) this.socket.pause();
    this.exchange = exchange;
    exchange.start();
  }

  private handOff(): void {
    const unread = this.buffered;
    this.buffered = undefined;
    this.detach();
    this.front.handOff(this.socket, unread);
  }

  private detach(): void {
    for (const [event, listener] of this.listeners) this.socket.off(event, listener);
    this.socket.setTimeout(0);
    this.front.track(this, false);
  }

  // As node:http (httpAllowHalfOpen off): a client that ends its side has gone away, and its request is aborted.
  private readonly onEnd = (): void => {
    this.ended = true;
    const exchange = this.exchange;
    this.exchange = undefined;
    exchange?.abandon();
    if (!this.socket.writableEnded) this.socket.end();
  };

  private readonly onClose = (): void => {
    this.front.track(this, false);
    const exchange = this.exchange;
    this.exchange = undefined;
    exchange?.abandon();
  };

  // 'close' follows and does the rest; without a listener the error would be thrown.
  private readonly onError = (): void => undefined;

  private readonly onDrain = (): void => this.exchange?.onClientDrain();

  private readonly onTimeout = (): void => {
    if (this.exchange === undefined) this.socket.destroy();
  };

  /** What the connection listens to while it is read here; a hand-off removes exactly these. */
  private get listeners(): [string, (...args: any[]) => void][] {
    return [
      ['data', this.onData],
      ['end', this.onEnd],
      ['close', this.onClose],
      ['error', this.onError],
      ['drain', this.onDrain],
      ['timeout', this.onTimeout],
    ];
  }
}
