/**
 * The model endpoint's `Forwarder`: one buffered request to a ready replica of a run through the same upstream
 * attempt as the service proxy (`upstream/attempt.ts`: least outstanding, retry while nothing reached a replica,
 * a bounded cold-start hold shared with the service proxy over the same route table). The answer streams back as
 * a Readable with backpressure; failures are DstackErrors carrying the HTTP status the endpoint should answer.
 */
import { Readable } from 'node:stream';
import { util, type Dispatcher } from 'undici';
import { InternalError, UserError } from '../../core/errors.js';
import type { Forwarder, ReplicaTarget, RouteTable, ServiceRoute, UpstreamRequest, UpstreamResponse } from '../contracts.js';
import { HeldRequests } from '../routing/held-requests.js';
import { heldRequestsOf, upstreamsOf } from '../routing/route-table.js';
import type { Random } from '../routing/select.js';
import { Upstreams } from '../routing/upstreams.js';
import type { StatsSink } from '../stats/stats-sink.js';
import { UpstreamAttempt, type UpstreamEnv } from '../upstream/attempt.js';
import type { UpstreamRejection } from '../upstream/failures.js';
import { ColdStartHold, holdOptions } from '../upstream/hold.js';

export interface ForwarderOptions {
  /** Share the service proxy's Pools and outstanding counters (default: the MemoryRouteTable's own). */
  upstreams?: Upstreams;
  stats?: StatsSink;
  clock?: () => number;
  random?: Random;
  /** Default 600 000 ms, as the service proxy: how long a request waits for a service scaling up from zero. */
  holdTimeoutMs?: number;
  /** Default 256, as the service proxy; counted per service together with the service proxy's held requests. */
  maxHeldPerService?: number;
  onColdStart?: (project: string, run: string) => void;
  log?: (message: string) => void;
}

export function makeForwarder(routes: RouteTable, options: ForwarderOptions = {}): Forwarder {
  const env: UpstreamEnv = {
    routes,
    upstreams: options.upstreams ?? upstreamsOf(routes, () => new Upstreams()),
    random: options.random ?? Math.random,
    hold: new ColdStartHold(routes, heldRequestsOf(routes, () => new HeldRequests()), holdOptions(options)),
    log: options.log ?? (() => undefined),
  };
  const clock = options.clock ?? Date.now;
  return (project, run, request) => {
    const route = routes.get(project, run);
    if (!route) return Promise.reject(new UserError('SERVICE_NOT_FOUND', `Service ${project}/${run} not found`, { status: 404 }));
    const startedAt = clock();
    options.stats?.onRequest(project, run, startedAt);
    const ended = (status: number): void => options.stats?.onResponse(project, run, clock() - startedAt, status);
    return new Promise<UpstreamResponse>((resolve, reject) => new ForwardAttempt(env, route, request, ended, resolve, reject).start());
  };
}

/** A DstackError for the models endpoint (its `code` becomes the OpenAI error code), Retry-After as the hint. */
function rejectionError(rejection: UpstreamRejection, cause: unknown): InternalError {
  const retryAfter = rejection.headers?.['retry-after'];
  return new InternalError(rejection.code, rejection.detail, {
    status: rejection.status,
    ...(retryAfter ? { hint: `retry after ${retryAfter} s` } : {}),
    ...(cause === undefined ? {} : { cause }),
  });
}

class ForwardAttempt extends UpstreamAttempt {
  private body: Readable | undefined;
  private statusCode = 0;
  private finished = false;
  private readonly onAbort = (): void => this.abandon();

  constructor(
    env: UpstreamEnv,
    route: ServiceRoute,
    private readonly request: UpstreamRequest,
    private readonly ended: (status: number) => void,
    private readonly resolve: (response: UpstreamResponse) => void,
    private readonly reject: (err: Error) => void,
  ) {
    super(env, route);
    const signal = request.signal;
    if (signal?.aborted) this.clientGone = true;
    else signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  protected override dispatchOptions(replica: ReplicaTarget, route: ServiceRoute): Dispatcher.DispatchOptions {
    return {
      origin: replica.origin,
      path: this.request.path,
      method: this.request.method as Dispatcher.HttpMethod,
      headers: this.request.headers,
      body: this.request.body ?? null,
      headersTimeout: route.readTimeoutMs,
      bodyTimeout: route.readTimeoutMs,
    };
  }

  protected override get responding(): boolean {
    return this.body !== undefined;
  }

  protected override fail(rejection: UpstreamRejection, cause?: unknown): void {
    this.finish(rejection.status);
    // After the answer was handed over (the consumer dropped the body) there is nobody left to tell.
    if (!this.body) this.reject(rejectionError(rejection, cause));
  }

  protected override cut(err: Error): void {
    this.finish(this.statusCode);
    this.body?.destroy(err);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true;
    this.statusCode = statusCode;
    // undici pauses the replica's socket when `push` says the buffer is full, until `read` asks for more.
    const body = new Readable({ read: () => resume() });
    // A consumer that stops reading early (client gone, error) ends the request upstream and frees the replica.
    body.once('close', () => this.abandon());
    this.body = body;
    this.resolve({ statusCode, headers: util.parseHeaders(rawHeaders), body });
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.body!.push(chunk);
  }

  onComplete(): void {
    this.releaseReplica();
    this.finish(this.statusCode);
    this.body?.push(null);
  }

  private finish(status: number): void {
    if (this.finished) return;
    this.finished = true;
    this.request.signal?.removeEventListener('abort', this.onAbort);
    this.ended(status);
  }
}
