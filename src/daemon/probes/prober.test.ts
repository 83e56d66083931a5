import { createServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentConnection } from '../../backends/backend.js';
import { replica, run, settings } from '../../../test/unit/reconcile/fixtures.js';
import { FakeScheduler } from '../../../test/unit/reconcile/fake-scheduler.js';
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

describe('Prober probe schedule', () => {
  it('probes a ready replica every interval on its own timer, and records how a failed probe failed', async () => {
    const answers: number[] = [500, 200, 503];
    const server = createServer((_q, s) => s.writeHead(answers.shift() ?? 200).end());
    await listen(server, 0);
    cleanups.push(() => server.close());
    const port = (server.address() as { port: number }).port;
    const scheduler = new FakeScheduler(1_000);
    const probe = { url: '/health', method: 'get', headers: [], timeoutSeconds: 5, intervalSeconds: 2, readyAfter: 1, untilReady: false, failureThreshold: 1 };
    let r = run({ settings: settings({ probes: [probe], tcpCheck: false }), replicas: [replica({ ready: true, hostPort: port, probes: [{ successStreak: 1 }] })] });
    const conn = { replicaOrigin: (p: number) => ({ origin: `http://127.0.0.1:${p}` }) } as unknown as AgentConnection;
    const results: string[] = [];
    let next: () => void = () => undefined;
    const prober = new Prober({
      runs: () => [r],
      connection: () => conn,
      update: (id, fn) => {
        const before = r.replicas[0]!;
        const after = fn(before, r);
        r = { ...r, replicas: [after] };
        results.push(`${scheduler.clock()} ${after.probes[0]?.lastOk ? 'ok' : 'failed'}${after.unhealthy ? ` (${after.unhealthy.reason})` : ''}`);
        next();
      },
      clock: scheduler.clock,
      scheduler,
    });
    cleanups.push(() => void prober.close());
    const probed = () => new Promise<void>((resolve) => (next = resolve));

    let done = probed();
    prober.tick(); // the only tick from outside: the rest comes from the prober's own timer
    await done;
    for (const step of [1_999, 1]) {
      done = probed();
      await scheduler.advance(step);
    }
    await done;
    done = probed();
    await scheduler.advance(2_000);
    await done;
    expect(results).toEqual(['1000 failed (GET /health failed 1 times in a row (HTTP 500))', '3000 ok', '5000 failed (GET /health failed 1 times in a row (HTTP 503))']);
  });
});
