import { createServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentConnection } from '../../backends/backend.js';
import { replica, run } from '../../../test/unit/reconcile/fixtures.js';
import { freePort } from '../../../test/helpers/net.js';
import { Prober } from './prober.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const listen = (server: { listen(port: number, host: string, cb: () => void): unknown }, port: number) =>
  new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));

describe('Prober TCP readiness', () => {
  it('re-checks a port that is not listening yet by itself, without waiting for the next reconciler tick', async () => {
    const port = await freePort();
    // First the port behaves like Docker's userland proxy before the server is up: accept, then close.
    const notYet = createTcpServer((socket) => socket.destroy());
    await listen(notYet, port);
    const firstCheck = new Promise<void>((resolve) => notYet.once('connection', () => resolve()));

    const r = run({ replicas: [replica({ ready: false, hostPort: port })] });
    const conn = { replicaOrigin: (p: number) => ({ origin: `http://127.0.0.1:${p}` }) } as unknown as AgentConnection;
    let ready: (id: string) => void = () => undefined;
    const became = new Promise<string>((resolve) => (ready = resolve));
    const prober = new Prober({ runs: () => [r], connection: () => conn, update: (id) => ready(id), clock: Date.now, tcpRetryMs: 50 });
    cleanups.push(() => void prober.close());
    prober.tick(); // the only tick

    await firstCheck;
    await new Promise<void>((resolve) => notYet.close(() => resolve()));
    const server = createServer((_q, s) => s.end('ok'));
    await listen(server, port);
    cleanups.push(() => server.close());
    expect(await became).toBe('svc-0-0');
  });
});
