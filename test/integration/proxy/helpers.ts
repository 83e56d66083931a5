/**
 * Real servers for the proxy tests: node:http upstreams on 127.0.0.1 port 0 and the real proxy in front of them.
 * Every start returns its own stop; `harness()` collects them so each test cleans up after itself.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import type { ServiceRoute } from '../../../src/proxy/contracts.js';
import { createProxyServer, type ProxyServerOptions } from '../../../src/proxy/http/server.js';
import { MemoryRouteTable } from '../../../src/proxy/routing/route-table.js';

export const TOKEN = 'tok-member-1';

export interface Upstream {
  origin: string;
  port: number;
  server: Server;
}

export type Cleanup = () => Promise<void> | void;

/** Registers cleanups that run after each test, last first. */
export function harness(): (cleanup: Cleanup) => void {
  const cleanups: Cleanup[] = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  return (c) => void cleanups.push(c);
}

export async function startUpstream(handler: (req: IncomingMessage, res: ServerResponse) => void, defer: (c: Cleanup) => void): Promise<Upstream> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  defer(() => new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  }));
  return { origin: `http://127.0.0.1:${port}`, port, server };
}

/** An upstream answering JSON that tells which replica saw what: method, url, headers, body length. */
export function echoHandler(name: string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const json = JSON.stringify({ replica: name, method: req.method, url: req.url, headers: req.headers, body: body.toString() });
      res.writeHead(200, { 'content-type': 'application/json', connection: 'keep-alive, x-upstream-hop', 'x-upstream-hop': 'secret', 'keep-alive': 'timeout=5' });
      res.end(json);
    });
  };
}

/** A port on 127.0.0.1 where nothing listens (bound, then closed). */
export async function deadOrigin(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

export function route(partial: Partial<ServiceRoute> & Pick<ServiceRoute, 'replicas'>): ServiceRoute {
  return {
    project: 'main',
    run: 'svc',
    auth: true,
    stripPrefix: true,
    rateLimits: [],
    canScaleFromZero: false,
    readTimeoutMs: 60_000,
    ...partial,
  };
}

export interface RunningProxy {
  base: string;
  port: number;
  routes: MemoryRouteTable;
}

export async function startProxy(
  defer: (c: Cleanup) => void,
  options: Partial<ProxyServerOptions> & { routes?: MemoryRouteTable } = {},
): Promise<RunningProxy> {
  const routes = options.routes ?? new MemoryRouteTable();
  const proxy = createProxyServer({
    authenticate: (project, token) => (project === 'main' && token === TOKEN ? 'ok' : 'unknown'),
    ...options,
    routes,
  });
  const { port } = await proxy.listen(0, '127.0.0.1');
  defer(async () => {
    await proxy.close();
    await routes.close();
  });
  return { base: `http://127.0.0.1:${port}`, port, routes };
}

export const auth = { authorization: `Bearer ${TOKEN}` };

/** Resolves with the value passed to `resolve`; a tiny deferred for ordering steps between servers and clients. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
