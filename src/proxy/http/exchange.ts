/**
 * One proxied request: a raw (legacy) undici dispatch handler that writes straight into the client's
 * ServerResponse. proxy-bench.md finding 1/3: this skips the Readable/Writable layer on the response path and is
 * the fastest Node design; no stream.pipeline and no AbortController per request (finding 4) — the upstream is
 * aborted through the `abort` callback undici hands to `onConnect`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { ReplicaTarget, ServiceRoute } from '../contracts.js';
import { pickReplica } from '../routing/select.js';
import type { ProxyContext } from './context.js';
import { errorCode, isRetryable, noReplicas, sendRejection, upstreamRejection } from './errors.js';
import { hasContentLength, responseHeaders } from './headers.js';

export class Exchange implements Dispatcher.DispatchHandler {
  private replica: ReplicaTarget | undefined;
  private tried: Set<string> | undefined;
  private abortUpstream: ((err?: Error) => void) | undefined;
  private connected = false;
  private upstreamDone = true;
  private clientGone = false;
  private resumeUpstream: (() => void) | undefined;
  /** Set while the request is held for a cold start, so a client disconnect ends the wait. */
  holdAbort: AbortController | undefined;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private route: ServiceRoute,
    private readonly path: string,
    private readonly headers: string[],
    private readonly body: IncomingMessage | null,
    private readonly startedAt: number,
  ) {
    res.once('close', () => this.onClientClose());
  }

  /** Forwards to the least loaded replica not tried yet; false when none is left. */
  send(route: ServiceRoute = this.route): boolean {
    this.route = route;
    const replica = pickReplica(route.replicas, this.ctx.upstreams.outstanding, this.ctx.random, this.tried);
    if (!replica) return false;
    this.replica = replica;
    this.connected = false;
    this.upstreamDone = false;
    this.ctx.upstreams.acquire(replica.id);
    this.ctx.upstreams.dispatcher(replica).dispatch(
      {
        origin: replica.origin,
        path: this.path,
        method: this.req.method ?? 'GET',
        headers: this.headers,
        body: this.body,
        headersTimeout: route.readTimeoutMs,
        bodyTimeout: route.readTimeoutMs,
      },
      this,
    );
    return true;
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.clientGone) return abort();
    this.abortUpstream = abort;
    this.connected = true;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true; // 1xx interim answers are not relayed (node:http sent 100-continue itself).
    this.resumeUpstream = resume;
    const headers = responseHeaders(rawHeaders);
    this.res.writeHead(statusCode, statusText || undefined, headers); // empty reason → node:http's standard one
    // A streamed answer (SSE, chunked) gets its headers now: clients such as EventSource or the OpenAI SDK wait for
    // them before reading. A sized answer keeps headers and body in one write (one syscall less per request).
    if (!hasContentLength(headers)) this.res.flushHeaders();
    return true;
  }

  onData(chunk: Buffer): boolean {
    const ok = this.res.write(chunk);
    // Backpressure: undici pauses the upstream socket on `false` until `resume`.
    if (!ok && this.resumeUpstream) this.res.once('drain', this.resumeUpstream);
    return ok;
  }

  onComplete(): void {
    this.finishUpstream();
    this.res.end();
  }

  onError(err: Error): void {
    const connected = this.connected;
    this.finishUpstream();
    if (this.clientGone) return;
    if (this.res.headersSent) {
      // Mid-body failure (read timeout, replica died): cut the client connection so it sees a truncated response.
      this.res.destroy();
      return;
    }
    if (isRetryable(err, connected) && this.replica) {
      (this.tried ??= new Set()).add(this.replica.id);
      const fresh = this.ctx.routes.get(this.route.project, this.route.run) ?? this.route;
      if (this.send(fresh)) return;
    }
    const service = `${this.route.project}/${this.route.run}`;
    if (isRetryable(err, connected)) this.ctx.log(`proxy: no replica of ${service} accepted the connection (${errorCode(err) ?? 'unknown'})`);
    sendRejection(this.res, this.replica || this.route.replicas.length ? upstreamRejection(err, service) : noReplicas(service));
  }

  private finishUpstream(): void {
    if (this.upstreamDone) return;
    this.upstreamDone = true;
    this.abortUpstream = undefined;
    if (this.replica) this.ctx.upstreams.release(this.replica.id);
  }

  private onClientClose(): void {
    const finished = this.res.writableFinished;
    if (!finished) {
      this.clientGone = true;
      this.holdAbort?.abort();
      this.abortUpstream?.();
    }
    this.ctx.stats?.onResponse(this.route.project, this.route.run, this.ctx.clock() - this.startedAt, finished ? this.res.statusCode : 499);
  }
}
