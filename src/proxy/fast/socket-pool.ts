/**
 * Kept-alive TCP connections to one replica origin for the fast path (the node:http path keeps undici Pools). A
 * connection serves one request at a time (no pipelining, as undici's `pipelining: 1`); idle ones are reused newest
 * first and closed after `keepAliveTimeoutMs`, or a second before the replica's own `Keep-Alive: timeout=N`, so a
 * request is not written into a connection the replica is closing. Each connection's events are bound once.
 */
import { connect, type Socket } from 'node:net';

/** The side of an exchange that a replica connection reports to. */
export interface UpstreamUser {
  onUpstreamData(chunk: Buffer): void;
  /** The connection failed or closed before `release`; `err.code` as undici's (failures.ts maps it). */
  onUpstreamError(err: Error): void;
  /** The replica read everything written so far: the client's body may flow again. */
  onUpstreamDrain(): void;
}

export interface SocketPoolOptions {
  connectTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

const codeError = (code: string, message: string): Error => Object.assign(new Error(message), { code });

export class UpstreamConn {
  user: UpstreamUser | undefined;
  /** True once the TCP handshake succeeded: a failure before it cannot have reached the replica. */
  connected = false;
  /** Served a request before this one. */
  reused = false;
  expiresAt = 0;
  private timeoutMs = 0;

  constructor(
    readonly socket: Socket,
    private readonly pool: SocketPool,
  ) {
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
    socket.on('timeout', this.onTimeout);
    socket.once('connect', this.onConnect);
  }

  /**
   * Read timeout (idle between reads, as undici's headersTimeout/bodyTimeout), from the connect on; the timer is
   * touched only when the value changes, not per request.
   */
  setReadTimeout(ms: number): void {
    if (ms === this.timeoutMs) return;
    this.timeoutMs = ms;
    if (this.connected) this.socket.setTimeout(ms);
  }

  private readonly onConnect = (): void => {
    this.connected = true;
    this.socket.setTimeout(this.timeoutMs);
  };

  private readonly onData = (chunk: Buffer): void => {
    if (this.user) this.user.onUpstreamData(chunk);
    else this.socket.destroy(); // bytes nobody asked for: the connection is not in a known state
  };

  private readonly onError = (err: Error): void => this.fail(err);
  private readonly onClose = (): void => this.fail(codeError('UND_ERR_SOCKET', 'other side closed'));
  private readonly onDrain = (): void => this.user?.onUpstreamDrain();

  private readonly onTimeout = (): void => {
    const code = this.connected ? 'UND_ERR_HEADERS_TIMEOUT' : 'UND_ERR_CONNECT_TIMEOUT';
    this.fail(codeError(code, this.connected ? 'upstream read timed out' : 'connect timed out'));
  };

  private fail(err: Error): void {
    this.socket.destroy();
    this.pool.forget(this);
    const user = this.user;
    this.user = undefined;
    user?.onUpstreamError(err);
  }
}

export class SocketPool {
  private idle: UpstreamConn[] = [];
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;

  /** `host:port` of the origin: the Host a request without one gets (as undici sends). */
  readonly authority: string;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly options: SocketPoolOptions,
  ) {
    this.authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  }

  /** A connection for `user`: the newest idle one still fresh, else a new one (writes queue until it connects). */
  take(user: UpstreamUser): UpstreamConn {
    const now = Date.now();
    while (this.idle.length > 0) {
      const conn = this.idle.pop()!;
      if (conn.expiresAt > now && !conn.socket.destroyed) {
        conn.user = user;
        conn.reused = true;
        return conn;
      }
      conn.socket.destroy();
    }
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    socket.setTimeout(this.options.connectTimeoutMs);
    const conn = new UpstreamConn(socket, this);
    conn.user = user;
    return conn;
  }

  /** The exchange on `conn` ended cleanly and the replica keeps the connection: it waits for the next request. */
  give(conn: UpstreamConn, keepAliveMs: number | undefined): void {
    conn.user = undefined;
    if (this.closed || conn.socket.destroyed) return void conn.socket.destroy();
    // Paused by backpressure on the answer's last read: the next user must be able to read it.
    if (conn.socket.isPaused()) conn.socket.resume();
    const hinted = keepAliveMs === undefined ? Infinity : keepAliveMs - 1000;
    const ttl = Math.min(this.options.keepAliveTimeoutMs, hinted);
    if (ttl <= 0) return void conn.socket.destroy();
    conn.expiresAt = Date.now() + ttl;
    this.idle.push(conn);
    this.sweeper ??= setInterval(this.sweep, Math.min(ttl, 1000)).unref();
  }

  /** @internal a connection closed or failed: it must not be handed out again. */
  forget(conn: UpstreamConn): void {
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
  }

  close(): void {
    this.closed = true;
    for (const conn of this.idle.splice(0)) conn.socket.destroy();
    this.stopSweeper();
  }

  private readonly sweep = (): void => {
    const now = Date.now();
    this.idle = this.idle.filter((conn) => conn.expiresAt > now || (conn.socket.destroy(), false));
    if (this.idle.length === 0) this.stopSweeper();
  };

  private stopSweeper(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}
