/**
 * HTTP over the host's one SSH connection: an undici Agent whose `connect` opens a direct-tcpip channel
 * (`forwardOut`) to 127.0.0.1:<origin port> on the host and hands undici that channel, wrapped in a ChannelSocket,
 * as the socket (undici 7 only needs a Duplex; measured against a local net.Server forwarder in `npm run bench ssh`). One Agent per host
 * serves the agent API and every replica: the Agent keeps a Pool per origin, i.e. per host port. Channel-open
 * failures get the socket error codes the proxy already classifies (ECONNREFUSED, EHOSTUNREACH), so a dead
 * replica or host is retried elsewhere exactly like a refused TCP connect.
 */
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { Agent } from 'undici';
import type { Client, ClientChannel } from 'ssh2';

/** RFC 4254 §5.1 reason code: the server could not connect to the requested address. */
const SSH_OPEN_CONNECT_FAILED = 2;

export class TunnelError extends Error {
  constructor(
    readonly code: 'ECONNREFUSED' | 'EHOSTUNREACH',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TunnelError';
  }
}

/**
 * An ssh2 channel with the socket semantics undici relies on. ssh2's Channel is a Duplex whose `destroy(err)` only
 * sends CHANNEL_CLOSE: it neither marks the stream destroyed nor emits 'close' until the host answers, drops the
 * error, and a write after the close never calls back. undici destroys a socket and expects it gone at once (it
 * reuses a socket that does not look destroyed); with the bare channel a request could be written to a closed channel
 * and its headers timeout then hit an assertion inside undici that kills the process. Here `destroy` is immediate
 * and a closed channel fails writes.
 */
export class ChannelSocket extends Duplex {
  private channelClosed = false;

  constructor(private readonly channel: ClientChannel) {
    super({ allowHalfOpen: true });
    channel.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) channel.pause();
    });
    channel.once('end', () => this.push(null));
    channel.once('close', () => {
      this.channelClosed = true;
      this.push(null);
      this.destroy();
    });
    channel.on('error', (e: Error) => this.destroy(e));
  }

  override _read(): void {
    this.channel.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.channelClosed) return cb(Object.assign(new Error('the SSH channel is closed'), { code: 'ECONNRESET' }));
    this.channel.write(chunk, encoding, cb);
  }

  override _final(cb: (e?: Error | null) => void): void {
    if (!this.channelClosed) this.channel.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    if (!this.channelClosed) {
      this.channelClosed = true;
      this.channel.close();
    }
    cb(err);
  }
}

/**
 * Opens a channel to 127.0.0.1:port (or `host:port`, as the host sees it) on the host of `client` (undefined while the
 * host is unreachable). A custom undici connector gets no connect timeout of its own, and a host that died but whose
 * keepalives have not run out yet never answers the open: `timeoutMs` bounds it, and a channel that opens after that
 * is closed at once.
 */
export function openChannel(client: Client | undefined, instance: string, port: number, timeoutMs = 10_000, host = '127.0.0.1'): Promise<Duplex> {
  if (!client) return Promise.reject(new TunnelError('EHOSTUNREACH', `${instance} is unreachable over SSH`));
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reject(new TunnelError('EHOSTUNREACH', `${instance}: opening an SSH channel to ${host}:${port} timed out after ${timeoutMs / 1000} s`));
    }, timeoutMs);
    try {
      client.forwardOut('127.0.0.1', 0, host, port, (err, channel) => {
        clearTimeout(timer);
        if (timedOut) return void channel?.close();
        if (!err) return resolve(channel);
        const refused = (err as Error & { reason?: number }).reason === SSH_OPEN_CONNECT_FAILED;
        reject(
          new TunnelError(refused ? 'ECONNREFUSED' : 'EHOSTUNREACH', `${instance}: nothing answers on ${host}:${port} (${err.message})`, {
            cause: err,
          }),
        );
      });
    } catch (e) {
      clearTimeout(timer);
      // ssh2 throws synchronously when the connection is already closed.
      reject(new TunnelError('EHOSTUNREACH', `${instance} is unreachable over SSH`, { cause: e }));
    }
  });
}

export interface TunnelDispatcherOptions {
  /** Channels (sockets) per host port; the proxy sizes its own pools at or above the expected concurrency. */
  connections?: number;
  keepAliveTimeoutMs?: number;
}

/** An undici dispatcher that reaches 127.0.0.1:<origin port> of a host through `current()`'s SSH connection. */
export function tunnelDispatcher(instance: string, current: () => Client | undefined, options: TunnelDispatcherOptions = {}): Agent {
  return new Agent({
    connections: options.connections ?? 256,
    pipelining: 1,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 30_000,
    connect: (opts, cb) => {
      openChannel(current(), instance, Number(opts.port)).then(
        (channel) => cb(null, new ChannelSocket(channel as ClientChannel) as unknown as Socket),
        (e: Error) => cb(e, null),
      );
    },
  });
}
