/**
 * One upstream attempt, the single path under the service proxy (`Exchange`), WebSockets (`UpgradeTunnel`) and the
 * model endpoint (`makeForwarder`): pick the least loaded replica, count it outstanding exactly once per dispatch,
 * retry another replica while nothing reached the first, hold for a cold start, and map a failure to one answer.
 *
 * It is a raw (legacy) undici dispatch handler that adapters extend with their response side (proxy-bench.md
 * findings 1/3/4: no Readable layer, no stream.pipeline, no AbortController per request; the upstream is aborted
 * through the `abort` callback undici hands to `onConnect`). Nothing here allocates per request beyond the
 * adapter's dispatch options, except on the cold paths (retry: the tried set; hold: an AbortController).
 */
import type { Dispatcher } from 'undici';
import type { ReplicaTarget, RouteTable, ServiceRoute } from '../contracts.js';
import { pickReplica, type Random } from '../routing/select.js';
import type { Upstreams } from '../routing/upstreams.js';
import {
  CLIENT_GONE,
  errorCode,
  holdQueueFull,
  isRetryable,
  noReplicas,
  notReadyInTime,
  upstreamRejection,
  type UpstreamRejection,
} from './failures.js';
import type { ColdStartHold, HoldOutcome } from './hold.js';

/** What every attempt shares: built once per entry point (the proxy server's ProxyContext is one). */
export interface UpstreamEnv {
  routes: RouteTable;
  upstreams: Upstreams;
  random: Random;
  hold: ColdStartHold;
  log: (message: string) => void;
}

export abstract class UpstreamAttempt implements Dispatcher.DispatchHandler {
  protected replica: ReplicaTarget | undefined;
  /** Set once the client went away: nothing more goes upstream, and a failure is answered as 499. */
  protected clientGone = false;
  private tried: Set<string> | undefined;
  private abortUpstream: ((err?: Error) => void) | undefined;
  private connected = false;
  private upstreamDone = true;
  private holdAbort: AbortController | undefined;

  constructor(
    protected readonly env: UpstreamEnv,
    protected route: ServiceRoute,
  ) {}

  /** Forwards to a replica now, or holds while the service scales up from zero, or fails with 503. */
  start(): void {
    if (this.clientGone) return this.fail(CLIENT_GONE);
    if (this.send(this.route)) return;
    if (!this.route.canScaleFromZero && !this.route.warming) return this.fail(noReplicas(this.service()));
    void this.holdThenSend();
  }

  /** One dispatch to `replica`: the adapter's method, path, headers, body and timeouts. */
  protected abstract dispatchOptions(replica: ReplicaTarget, route: ServiceRoute): Dispatcher.DispatchOptions;
  /** True once part of the answer went to the client: a failure then can only cut the connection. */
  protected abstract get responding(): boolean;
  /** The attempt ended without an answer from a replica; called at most once. */
  protected abstract fail(rejection: UpstreamRejection, cause?: unknown): void;
  /** The replica failed after the answer started. */
  protected abstract cut(err: Error): void;

  onConnect(abort: (err?: Error) => void): void {
    if (this.clientGone) return abort();
    this.abortUpstream = abort;
    this.connected = true;
  }

  onError(err: Error): void {
    const connected = this.connected;
    this.releaseReplica();
    if (this.clientGone) return this.fail(CLIENT_GONE, err);
    if (this.responding) return this.cut(err);
    if (isRetryable(err, connected) && this.replica) {
      (this.tried ??= new Set()).add(this.replica.id);
      // A fresh route: replicas may have come or gone while this one was tried.
      if (this.send(this.env.routes.get(this.route.project, this.route.run) ?? this.route)) return;
      this.env.log(`proxy: no replica of ${this.service()} accepted the connection (${errorCode(err) ?? 'unknown'})`);
    }
    this.fail(upstreamRejection(err, this.service()), err);
  }

  /** The client went away: ends a cold-start wait and aborts the request in flight. */
  protected abandon(): void {
    this.clientGone = true;
    this.holdAbort?.abort();
    this.abortUpstream?.();
  }

  /** The request to the replica is over (answered, failed, or its tunnel closed): its outstanding count drops once. */
  protected releaseReplica(): void {
    if (this.upstreamDone) return;
    this.upstreamDone = true;
    this.abortUpstream = undefined;
    if (this.replica) this.env.upstreams.release(this.replica.id);
  }

  /** After `onUpgrade` undici no longer owns the request; the tunnel keeps the replica counted until it closes. */
  protected upgraded(): void {
    this.abortUpstream = undefined;
  }

  protected service(): string {
    return `${this.route.project}/${this.route.run}`;
  }

  /** Dispatches to the least loaded replica not tried yet; false when none is left. */
  private send(route: ServiceRoute): boolean {
    this.route = route;
    const replica = pickReplica(route.replicas, this.env.upstreams.outstanding, this.env.random, this.tried);
    if (!replica) return false;
    this.replica = replica;
    this.connected = false;
    this.upstreamDone = false;
    this.env.upstreams.acquire(replica.id);
    this.env.upstreams.dispatcher(replica).dispatch(this.dispatchOptions(replica, route), this);
    return true;
  }

  /**
   * Waits for a replica. A request body is not read meanwhile (an IncomingMessage stays paused until undici
   * consumes it), so nothing is lost; node:http's `requestTimeout` is off in the server for this reason.
   */
  private async holdThenSend(): Promise<void> {
    const { project, run } = this.route;
    const abort = (this.holdAbort = new AbortController());
    let outcome: HoldOutcome;
    try {
      outcome = await this.env.hold.wait(project, run, abort.signal);
    } catch (err) {
      // onColdStart threw (the control plane could not scale up): the request cannot be served by waiting.
      this.env.log(`proxy: cold start of ${this.service()} failed (${(err as Error).message})`);
      outcome = 'timeout';
    } finally {
      this.holdAbort = undefined;
    }
    if (outcome === 'aborted' || this.clientGone) return this.fail(CLIENT_GONE);
    if (outcome === 'full') return this.fail(holdQueueFull(this.service()));
    const fresh = outcome === 'ready' ? this.env.routes.get(project, run) : undefined;
    if (fresh && this.send(fresh)) return;
    this.fail(notReadyInTime(this.service()));
  }
}
