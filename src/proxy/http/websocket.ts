/**
 * WebSockets (and any other `Upgrade`) on service paths: the same admission as HTTP, then an undici upgrade
 * request to the least loaded replica; on `101` both sockets are piped and closed together. A replica that
 * refuses the upgrade has its answer relayed as is. dstack's in-server proxy refuses upgrades (#2231); its gateway
 * supports them, and so do we.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ReplicaTarget, ServiceRoute } from '../contracts.js';
import { pickReplica } from '../routing/select.js';
import { admit, parseServicePath } from './admission.js';
import type { ProxyContext } from './context.js';
import { isRetryable, noReplicas, notFound, rejectionBytes, upstreamRejection } from './errors.js';
import { addForwarded, clientIpOf, scanRequestHeaders } from './headers.js';

export function handleUpgrade(ctx: ProxyContext, req: IncomingMessage, client: Duplex, head: Buffer): void {
  client.on('error', () => client.destroy());
  const sp = req.url?.startsWith('/proxy/services/') ? parseServicePath(req.url) : undefined;
  if (!sp || sp.rest === '') return void client.end(rejectionBytes(notFound()));
  const scan = scanRequestHeaders(req.rawHeaders);
  const admission = admit(ctx, req, sp, scan.authorization);
  if (admission.rejection) return void client.end(rejectionBytes(admission.rejection));
  const route = admission.route;
  ctx.stats?.onRequest(route.project, route.run, ctx.clock());
  const headers = addForwarded(scan, {
    clientIp: clientIpOf(req.socket.remoteAddress),
    proto: 'http',
    host: scan.host,
    prefix: route.stripPrefix ? sp.base : undefined,
  });
  const tunnel = new UpgradeTunnel(ctx, req, client, head, route, route.stripPrefix ? sp.rest + sp.search : req.url!, headers);
  if (!tunnel.send()) client.end(rejectionBytes(noReplicas(`${route.project}/${route.run}`)));
}

const crlfHeaders = (raw: readonly (Buffer | string)[]): string => {
  let out = '';
  for (let i = 0; i + 1 < raw.length; i += 2) out += `${raw[i]!.toString()}: ${raw[i + 1]!.toString()}\r\n`;
  return out;
};

class UpgradeTunnel implements Dispatcher.DispatchHandler {
  private replica: ReplicaTarget | undefined;
  private readonly tried = new Set<string>();
  private connected = false;
  private released = true;
  private relaying = false;
  private readonly startedAt: number;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly req: IncomingMessage,
    private readonly client: Duplex,
    private readonly head: Buffer,
    private readonly route: ServiceRoute,
    private readonly path: string,
    private readonly headers: string[],
  ) {
    this.startedAt = ctx.clock();
    // The request counted by `onRequest` ends when the tunnel closes or the upgrade fails, whatever happens.
    client.once('close', () => ctx.stats?.onResponse(route.project, route.run, ctx.clock() - this.startedAt, 101));
  }

  send(): boolean {
    const replica = pickReplica(this.route.replicas, this.ctx.upstreams.outstanding, this.ctx.random, this.tried);
    if (!replica) return false;
    this.replica = replica;
    this.connected = false;
    this.released = false;
    this.ctx.upstreams.acquire(replica.id);
    const upgrade = this.req.headers.upgrade ?? 'websocket';
    this.ctx.upstreams.dispatcher(replica).dispatch(
      { origin: replica.origin, path: this.path, method: 'GET', headers: this.headers, upgrade, headersTimeout: this.route.readTimeoutMs },
      this,
    );
    return true;
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.client.destroyed) return abort();
    this.connected = true;
  }

  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[] | null, upstream: Duplex): void {
    this.client.write(`HTTP/1.1 ${statusCode} Switching Protocols\r\n${crlfHeaders(rawHeaders ?? [])}\r\n`);
    if (this.head.length > 0) upstream.write(this.head);
    const close = (): void => {
      upstream.destroy();
      this.client.destroy();
      this.release();
    };
    upstream.on('error', close).on('close', close);
    this.client.on('close', close);
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
    this.release();
    this.client.end();
  }

  onError(err: Error): void {
    const connected = this.connected;
    this.release();
    if (this.client.destroyed) return;
    if (this.relaying) return void this.client.destroy();
    if (isRetryable(err, connected) && this.replica) {
      this.tried.add(this.replica.id);
      if (this.send()) return;
    }
    this.client.end(rejectionBytes(upstreamRejection(err, `${this.route.project}/${this.route.run}`)));
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    if (this.replica) this.ctx.upstreams.release(this.replica.id);
  }
}
