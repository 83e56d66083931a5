/**
 * WebSockets (and any other `Upgrade`) on service paths: the same admission as HTTP, then the upstream attempt
 * (`upstream/attempt.ts`) sends an undici upgrade request to the least loaded replica, holding it while the service
 * scales up from zero; on `101` both sockets are piped and closed together. A replica that refuses the upgrade has
 * its answer relayed as is. dstack's in-server proxy refuses upgrades (#2231); its gateway supports them, and so
 * do we.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ReplicaTarget, ServiceRoute } from '../contracts.js';
import { UpstreamAttempt } from '../upstream/attempt.js';
import type { UpstreamRejection } from '../upstream/failures.js';
import { admit, parseServicePath } from './admission.js';
import type { ProxyContext } from './context.js';
import { notFound, rejectionBytes } from './errors.js';
import { addForwarded, clientIpOf, scanRequestHeaders } from './headers.js';

export function handleUpgrade(ctx: ProxyContext, req: IncomingMessage, client: Duplex, head: Buffer): void {
  client.on('error', () => client.destroy());
  const sp = req.url?.startsWith('/proxy/services/') ? parseServicePath(req.url) : undefined;
  if (!sp || sp.rest === '') return void client.end(rejectionBytes(notFound()));
  const scan = scanRequestHeaders(req.rawHeaders);
  const admission = admit(ctx, req, sp, scan);
  if (admission.rejection) return void client.end(rejectionBytes(admission.rejection));
  const route = admission.route;
  ctx.stats?.onRequest(route.project, route.run, ctx.clock());
  const headers = addForwarded(scan, {
    clientIp: clientIpOf(req.socket.remoteAddress),
    proto: 'http',
    host: scan.host,
    prefix: route.stripPrefix ? sp.base : undefined,
    dropAuthorization: route.auth,
  });
  new UpgradeTunnel(ctx, req, client, head, route, route.stripPrefix ? sp.rest + sp.search : req.url!, headers).start();
}

const crlfHeaders = (raw: readonly (Buffer | string)[]): string => {
  let out = '';
  for (let i = 0; i + 1 < raw.length; i += 2) out += `${raw[i]!.toString()}: ${raw[i + 1]!.toString()}\r\n`;
  return out;
};

/** Bytes a client may send before its upgrade is answered that are kept for the replica; past it, reading stops. */
const EARLY_BYTES_MAX = 64 * 1024;

class UpgradeTunnel extends UpstreamAttempt {
  private relaying = false;
  private tunnelled = false;
  private early: Buffer[] = [];
  private earlyBytes = 0;

  constructor(
    ctx: ProxyContext,
    private readonly req: IncomingMessage,
    private readonly client: Duplex,
    private readonly head: Buffer,
    route: ServiceRoute,
    private readonly path: string,
    private readonly headers: string[],
  ) {
    super(ctx, route);
    const startedAt = ctx.clock();
    // The request counted by `onRequest` ends when the tunnel closes or the upgrade fails, whatever happens; a
    // client gone before that ends a cold-start wait or the upgrade request in flight.
    client.once('close', () => {
      this.abandon();
      ctx.stats?.onResponse(this.route.project, this.route.run, ctx.clock() - startedAt, 101);
    });
    // node:http hands over the socket neither flowing nor paused, and its server is half-open: a client that leaves
    // while held is only seen by reading. Reading keeps what it sent early for the replica.
    client.on('data', this.onEarlyData).once('end', this.onClientEnd);
  }

  private readonly onEarlyData = (chunk: Buffer): void => {
    this.early.push(chunk);
    this.earlyBytes += chunk.length;
    if (this.earlyBytes > EARLY_BYTES_MAX) this.client.pause();
  };

  private readonly onClientEnd = (): void => {
    this.client.destroy();
  };

  protected override dispatchOptions(replica: ReplicaTarget, route: ServiceRoute): Dispatcher.DispatchOptions {
    const upgrade = this.req.headers.upgrade ?? 'websocket';
    return { origin: replica.origin, path: this.path, method: 'GET', headers: this.headers, upgrade, headersTimeout: route.readTimeoutMs };
  }

  protected override get responding(): boolean {
    return this.relaying || this.tunnelled;
  }

  protected override fail(rejection: UpstreamRejection): void {
    if (!this.client.destroyed) this.client.end(rejectionBytes(rejection));
  }

  protected override cut(): void {
    this.client.destroy();
  }

  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[] | null, upstream: Duplex): void {
    this.tunnelled = true;
    this.upgraded();
    this.client.off('data', this.onEarlyData).off('end', this.onClientEnd).pause();
    this.client.write(`HTTP/1.1 ${statusCode} Switching Protocols\r\n${crlfHeaders(rawHeaders ?? [])}\r\n`);
    if (this.head.length > 0) upstream.write(this.head);
    for (const chunk of this.early) upstream.write(chunk);
    this.early = [];
    const close = (): void => {
      upstream.destroy();
      this.client.destroy();
      this.releaseReplica();
    };
    upstream.on('error', close).on('close', close);
    this.client.on('close', close);
    // The client left while the replica was answering the upgrade: close the fresh tunnel at once.
    if (this.client.destroyed) return close();
    upstream.pipe(this.client);
    this.client.pipe(upstream);
  }

  /** The replica answered without upgrading: relay that answer, close-delimited. */
  onHeaders(statusCode: number, rawHeaders: Buffer[], _resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true;
    const kept: Buffer[] = [];
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!.toString('latin1').toLowerCase();
      if (name !== 'connection' && name !== 'transfer-encoding' && name !== 'keep-alive') kept.push(rawHeaders[i]!, rawHeaders[i + 1]!);
    }
    this.relaying = true;
    this.client.write(`HTTP/1.1 ${statusCode} ${statusText}\r\n${crlfHeaders(kept)}connection: close\r\n\r\n`);
    return true;
  }

  onData(chunk: Buffer): boolean {
    // Refusals are small; buffering them beats holding the replica's socket paused with no `resume` wired.
    this.client.write(chunk);
    return true;
  }

  onComplete(): void {
    this.releaseReplica();
    this.client.end();
  }
}
