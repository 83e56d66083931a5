import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentError } from '../errors.js';
import { makeTokenCheck } from './auth.js';
import { sendError } from './respond.js';
import { route, type RouteContext } from './routes.js';

export interface HttpServerOptions {
  host: string;
  port: number;
  token: string;
  context: RouteContext;
}

export interface ListeningServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Starts the agent's HTTP API; every request needs the host token (401 otherwise). */
export async function listen(options: HttpServerOptions): Promise<ListeningServer> {
  const authorized = makeTokenCheck(options.token);
  const server = createServer((req, res) => {
    if (!authorized(req)) {
      sendError(res, new AgentError('UNAUTHORIZED', 'missing or wrong agent token (Authorization: Bearer <token>)', 401));
      return;
    }
    void route(req, res, options.context);
  });
  // Long log follows and event streams must not be cut by Node's default request timeouts.
  server.requestTimeout = 0;
  server.headersTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    server,
    port,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
