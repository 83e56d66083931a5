/**
 * One proxied HTTP request: the upstream attempt (`upstream/attempt.ts`) with a response side that writes straight
 * into the client's ServerResponse. proxy-bench.md finding 1/3: skipping the Readable/Writable layer on the
 * response path is the fastest Node design.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { ReplicaTarget, ServiceRoute } from '../contracts.js';
import { UpstreamAttempt } from '../upstream/attempt.js';
import type { UpstreamRejection } from '../upstream/failures.js';
import type { ProxyContext } from './context.js';
import { sendRejection } from './errors.js';
import { hasContentLength, responseHeaders } from './headers.js';

/** The exchange of a response, so that one shared 'close' listener serves every request (no closure per request). */
const EXCHANGE = Symbol('exchange');
type TrackedResponse = ServerResponse & { [EXCHANGE]?: Exchange };

function onResponseClose(this: TrackedResponse): void {
  this[EXCHANGE]?.onClientClose();
}

export class Exchange extends UpstreamAttempt {
  private resumeUpstream: (() => void) | undefined;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    route: ServiceRoute,
    private readonly path: string,
    private readonly headers: string[],
    private readonly body: IncomingMessage | null,
    private readonly startedAt: number,
  ) {
    super(ctx, route);
    (res as TrackedResponse)[EXCHANGE] = this;
    // 'close' is emitted once per ServerResponse, so `on` needs no `once` wrapper.
    res.on('close', onResponseClose);
  }

  protected override dispatchOptions(replica: ReplicaTarget, route: ServiceRoute): Dispatcher.DispatchOptions {
    return {
      origin: replica.origin,
      path: this.path,
      method: this.req.method ?? 'GET',
      headers: this.headers,
      body: this.body,
      headersTimeout: route.readTimeoutMs,
      bodyTimeout: route.readTimeoutMs,
    };
  }

  protected override get responding(): boolean {
    return this.res.headersSent;
  }

  protected override fail(rejection: UpstreamRejection): void {
    if (!this.clientGone) sendRejection(this.res, rejection);
  }

  /** Mid-body failure (read timeout, replica died): a cut connection shows the client a truncated response. */
  protected override cut(): void {
    this.res.destroy();
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
    this.releaseReplica();
    this.res.end();
  }

  /** @internal called by the response's 'close' listener. */
  onClientClose(): void {
    const finished = this.res.writableFinished;
    if (!finished) this.abandon();
    this.ctx.stats?.onResponse(this.route.project, this.route.run, this.ctx.clock() - this.startedAt, finished ? this.res.statusCode : 499);
  }
}
