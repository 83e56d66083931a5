/**
 * One request on the fast path: the request head (already rewritten) and body go to a replica connection from the
 * origin's SocketPool, and the replica's answer goes back to the client socket as it arrives — head rewritten once,
 * body bytes untouched (chunks and SSE events unbuffered). The rules are the node:http path's (upstream/attempt.ts):
 * the replica is counted outstanding exactly once; a failure before the replica could have read anything tries
 * another replica; a failure before the first response byte is answered (502/504, failures.ts), after it the client
 * connection is cut; a client that leaves aborts the replica's request and is counted as 499.
 */
import type { Socket } from 'node:net';
import type { ReplicaTarget, ServiceRoute } from '../contracts.js';
import type { ProxyContext } from '../http/context.js';
import { rejectionBytes } from '../http/errors.js';
import { pickReplica } from '../routing/select.js';
import { errorCode, isRetryable, upstreamRejection, type UpstreamRejection } from '../upstream/failures.js';
import { ChunkedScanner, Framing, readResponseHead, type ResponseHead } from './response-head.js';
import type { SocketPool, UpstreamConn, UpstreamUser } from './socket-pool.js';

/** The connection an exchange answers on (front.ts). */
export interface ClientSide {
  readonly socket: Socket;
  /** The exchange is over; `close`: the connection cannot carry another request. */
  exchangeDone(close: boolean): void;
}

const CRLF2 = Buffer.from('\r\n\r\n');
/** A replica head longer than this is refused (node:http's default maxHeaderSize is 16 KiB; undici's 16 KiB too). */
const MAX_RESPONSE_HEAD = 64 * 1024;
const RESEND_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

export class FastExchange implements UpstreamUser {
  /** Request body bytes still to come from the client. */
  bodyLeft: number;
  private up: UpstreamConn | undefined;
  private head: ResponseHead | undefined;
  private partial: Buffer | undefined;
  private left = 0;
  private chunks: ChunkedScanner | undefined;
  /** The replica's connection may serve another request once this one ends. */
  private reusable = true;
  private responded = false;
  private done = false;
  /** Body bytes were forwarded as they came: the request cannot be sent again. */
  private streamed = false;
  private resent = false;
  private tried: Set<string> | undefined;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly client: ClientSide,
    private route: ServiceRoute,
    private replica: ReplicaTarget,
    private pool: SocketPool,
    private readonly method: string,
    /** The head for the replica (latin1) and the body bytes that came with it. */
    private readonly requestHead: string,
    private readonly firstBody: Buffer | undefined,
    bodyLeft: number,
    private readonly startedAt: number,
  ) {
    this.bodyLeft = bodyLeft;
  }

  start(): void {
    this.ctx.stats?.onRequest(this.route.project, this.route.run, this.startedAt);
    this.ctx.upstreams.acquire(this.replica.id);
    this.send();
  }

  /** More of the request body; false when the replica's connection is full (the caller pauses the client). */
  onClientBody(chunk: Buffer): boolean {
    this.bodyLeft -= chunk.length;
    this.streamed = true;
    if (this.done || !this.up) return true; // answered already: the rest of the body is read and dropped
    return this.up.socket.write(chunk);
  }

  /** The client's socket drained: the replica's answer may flow again. */
  onClientDrain(): void {
    this.up?.socket.resume();
  }

  /** The client went away before the answer ended. */
  abandon(): void {
    if (this.done) return;
    this.done = true;
    this.dropUpstream();
    this.end(499);
  }

  onUpstreamDrain(): void {
    if (this.bodyLeft > 0) this.client.socket.resume();
  }

  onUpstreamData(chunk: Buffer): void {
    if (this.done) return;
    if (this.head) return this.body(chunk, 0);
    let buf = this.partial ? Buffer.concat([this.partial, chunk]) : chunk;
    for (;;) {
      const end = buf.indexOf(CRLF2);
      if (end < 0) {
        if (buf.length > MAX_RESPONSE_HEAD) return this.upstreamFailed(protocolError());
        this.partial = buf;
        return;
      }
      const head = readResponseHead(buf.toString('latin1', 0, end), this.method);
      if (!head) return this.upstreamFailed(protocolError());
      buf = buf.subarray(end + 4);
      if (head.interim) {
        if (buf.length === 0) return void (this.partial = undefined);
        continue;
      }
      this.partial = undefined;
      this.head = head;
      this.left = head.length;
      this.responded = true;
      const socket = this.client.socket;
      socket.cork();
      socket.write(head.clientHead, 'latin1');
      this.body(buf, 0);
      socket.uncork();
      return;
    }
  }

  onUpstreamError(err: Error): void {
    if (this.done) return;
    const conn = this.up;
    this.up = undefined;
    // Called for a framing error too, while the connection is still open: it is not in a state to reuse.
    if (conn?.user === this) closeConn(conn);
    if (this.head?.framing === Framing.Close) {
      // The replica closing is how this body ends.
      this.reusable = false;
      return this.finish(true);
    }
    if (this.responded) {
      this.done = true;
      this.client.socket.destroy();
      return this.end(499);
    }
    if (!this.streamed && conn) {
      // A kept-alive connection the replica closed just as the request went out: once more on a new one.
      if (conn.reused && !this.resent && RESEND_CODES.has(errorCode(err) ?? '') && this.partial === undefined) {
        this.resent = true;
        return this.send();
      }
      if (isRetryable(err, conn.connected) && this.retryElsewhere()) return;
    }
    this.upstreamFailed(err);
  }

  private send(): void {
    const conn = (this.up = this.pool.take(this));
    conn.setReadTimeout(this.route.readTimeoutMs);
    const socket = conn.socket;
    if (this.firstBody) {
      socket.cork();
      socket.write(this.requestHead, 'latin1');
      socket.write(this.firstBody);
      socket.uncork();
    } else {
      socket.write(this.requestHead, 'latin1');
    }
  }

  /** Another replica, not tried yet, of the route as it is now; false when none is left. */
  private retryElsewhere(): boolean {
    this.ctx.upstreams.release(this.replica.id);
    (this.tried ??= new Set()).add(this.replica.id);
    const route = this.ctx.routes.get(this.route.project, this.route.run) ?? this.route;
    const replica = pickReplica(route.replicas, this.ctx.upstreams.outstanding, this.ctx.random, this.tried);
    const pool = replica && this.ctx.upstreams.socketPool(replica);
    if (!replica || !pool) {
      this.ctx.upstreams.acquire(this.replica.id); // released again by the failure that follows
      this.ctx.log(`proxy: no replica of ${this.route.project}/${this.route.run} accepted the connection`);
      return false;
    }
    this.route = route;
    this.replica = replica;
    this.pool = pool;
    this.resent = false;
    this.ctx.upstreams.acquire(replica.id);
    this.send();
    return true;
  }

  private body(buf: Buffer, from: number): void {
    const head = this.head!;
    const n = buf.length - from;
    switch (head.framing) {
      case Framing.None:
        if (n > 0) this.reusable = false;
        return this.finish(false);
      case Framing.Length: {
        const take = Math.min(this.left, n);
        if (take > 0) this.write(from === 0 && take === buf.length ? buf : buf.subarray(from, from + take));
        this.left -= take;
        if (n > take) this.reusable = false;
        if (this.left === 0) this.finish(false);
        return;
      }
      case Framing.Chunked: {
        const end = (this.chunks ??= new ChunkedScanner()).scan(buf, from);
        if (end === -2) return this.onUpstreamError(protocolError());
        const stop = end < 0 ? buf.length : end;
        if (stop > from) this.write(from === 0 && stop === buf.length ? buf : buf.subarray(from, stop));
        if (end >= 0) {
          if (end < buf.length) this.reusable = false;
          this.finish(false);
        }
        return;
      }
      case Framing.Close:
        if (n > 0) this.write(from === 0 ? buf : buf.subarray(from));
    }
  }

  private write(chunk: Buffer): void {
    // Backpressure: the replica's connection is paused until the client's socket drains (front.ts resumes it).
    if (!this.client.socket.write(chunk)) this.up?.socket.pause();
  }

  /** The answer went out whole. */
  private finish(closeClient: boolean): void {
    this.done = true;
    const conn = this.up;
    this.up = undefined;
    this.chunks?.reset();
    if (conn) {
      if (this.reusable && this.head!.reusable && this.bodyLeft === 0) this.pool.give(conn, this.head!.keepAliveMs);
      else closeConn(conn);
    }
    this.ctx.upstreams.release(this.replica.id);
    this.ctx.stats?.onResponse(this.route.project, this.route.run, this.ctx.clock() - this.startedAt, this.head!.status);
    // A body the client is still sending would be read as the next request: that connection ends here.
    this.client.exchangeDone(closeClient || this.head!.framing === Framing.Close || this.bodyLeft > 0);
  }

  /** Before any byte of an answer: the proxy's own answer, on a connection that then closes. */
  private upstreamFailed(err: unknown): void {
    if (this.done) return;
    if (this.responded) return this.onUpstreamError(err as Error);
    this.done = true;
    this.dropUpstream();
    const rejection: UpstreamRejection = upstreamRejection(err, `${this.route.project}/${this.route.run}`);
    this.client.socket.end(rejectionBytes(rejection));
    this.end(rejection.status);
  }

  private dropUpstream(): void {
    const conn = this.up;
    this.up = undefined;
    if (conn) closeConn(conn);
  }

  /** Ended without a whole answer (rejected, cut, abandoned): the client connection does not carry another request. */
  private end(status: number): void {
    this.ctx.upstreams.release(this.replica.id);
    this.ctx.stats?.onResponse(this.route.project, this.route.run, this.ctx.clock() - this.startedAt, status);
    this.client.exchangeDone(true);
  }
}

function closeConn(conn: UpstreamConn): void {
  conn.user = undefined;
  conn.socket.destroy();
}

function protocolError(): Error {
  return Object.assign(new Error('invalid response from the replica'), { code: 'HPE_INVALID' });
}
