/**
 * `server.proxy_workers` ≥ 2, the primary's side: the daemon opens the TCP listener and hands it to N worker
 * processes (src/proxy/workers/main.ts), which accept on it in turn (the kernel spreads connections). The primary
 * then closes its own copy, so it accepts nothing while workers live; the full data plane it keeps serves what
 * workers relay over a 0600 unix socket in the server dir (control API, attach, services they cannot serve).
 *
 * Primary → workers: the route table, token digests and models as one snapshot per change (coalesced to one message per
 * tick; a 50 ms check catches model and token changes that do not touch routes), and drains before a replica stops.
 * Workers → primary: stats batches replayed into ServiceStats, cold-start notices, log lines. A worker that dies is
 * replaced with a handle lent by a live one (or a fresh listener when none lives); its requests still counted as in
 * flight are ended in the stats as 502s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { ModelEntry } from '../../proxy/contracts.js';
import { tokenDigest } from '../../proxy/http/auth.js';
import type { ProxyServer } from '../../proxy/http/server.js';
import type { TlsFront } from '../../proxy/http/tls-front.js';
import type { MemoryRouteTable } from '../../proxy/routing/route-table.js';
import type { ServiceStats } from '../../proxy/stats/service-stats.js';
import { toWire, type HoldSettings, type ToPrimary, type ToWorker, type WorkerState } from '../../proxy/workers/protocol.js';
import { acceptRelay } from '../../proxy/workers/relay.js';
import type { Log } from '../process/log.js';

export interface ProxyWorkersDeps {
  count: number;
  /** The HA lease's relay key: workers trust a standby's X-Forwarded-For with it, as the primary does. */
  relayKey?: string;
  port: number;
  host: string;
  socketPath: string;
  /** Arguments after process.execPath that start a worker (the CLI entry's hidden role). */
  argv: string[];
  env: NodeJS.ProcessEnv;
  /** The primary's full data plane: relayed requests, and connections accepted while no worker holds the port. */
  plane: ProxyServer;
  routes: MemoryRouteTable;
  /** Accepted token digests by project; or plain `tokens`, digested here: workers get digests only. */
  digests?: () => [string, string[]][];
  tokens?: () => [string, string[]][];
  models: () => ModelEntry[];
  stats: ServiceStats;
  onColdStart: (project: string, run: string) => void;
  hold: HoldSettings;
  /** HTTPS: workers terminate TLS with the same PEM; the primary's front takes what it accepts on the port itself. */
  tls?: { front: TlsFront; pem: { cert: string; key: string } };
  log: Log;
}

export interface ProxyWorkers {
  port: number;
  pids(): number[];
  /** Requests each worker reported, by pid (tests: every worker serves). */
  requests(): Map<number, number>;
  close(): Promise<void>;
}

interface Worker {
  child: ChildProcess;
  index: number;
  ready: boolean;
  requests: number;
  outstanding: Map<string, number>;
  drains: Map<number, () => void>;
  onReady: (() => void)[];
  onHandle?: (handle: Server) => void;
}

const listen = (server: Server, port: number | string, host?: string): Promise<void> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = (): void => {
      server.off('error', reject);
      resolve();
    };
    if (typeof port === 'string') server.listen(port, done);
    else server.listen(port, host, done);
  });

export async function startProxyWorkers(d: ProxyWorkersDeps): Promise<ProxyWorkers> {
  // Connections on the public port (TLS when configured); relays from workers are plain HTTP on the unix socket.
  const served = (socket: Socket): void => {
    socket.setNoDelay(true);
    if (d.tls) d.tls.front.accept(socket);
    else d.plane.accept(socket);
  };
  await rm(d.socketPath, { force: true });
  const unix = createServer((socket) => acceptRelay(socket, (relayed) => d.plane.accept(relayed)));
  await listen(unix, d.socketPath);
  await chmod(d.socketPath, 0o600);
  const tcp = createServer(served);
  await listen(tcp, d.port, d.host);
  const port = (tcp.address() as { port: number }).port;

  const workers = new Map<number, Worker>();
  let stopping = false;
  let seq = 0;
  let flushQueued = false;
  // Routes are re-read only after the table changed; tokens and models (small) are compared on every check.
  let routesDirty = true;
  let wireRoutes: WorkerState['routes'] = [];
  let lastExtras = '';
  let crashes = 0;
  let startupFailed: ((e: Error) => void) | undefined;

  const state = (): WorkerState => {
    if (routesDirty) wireRoutes = d.routes.list().map(toWire);
    routesDirty = false;
    const digests = d.digests?.() ?? (d.tokens?.() ?? []).map(([p, tokens]): [string, string[]] => [p, tokens.map(tokenDigest)]);
    return { routes: wireRoutes, digests, models: d.models(), ...(d.relayKey ? { relayKey: d.relayKey } : {}) };
  };
  const flush = (): void => {
    flushQueued = false;
    const changed = routesDirty;
    const s = state();
    const extras = JSON.stringify([s.digests, s.models]);
    if (!changed && extras === lastExtras) return;
    lastExtras = extras;
    for (const w of workers.values()) if (w.ready) w.child.send({ t: 'state', state: s } satisfies ToWorker);
  };
  const queueFlush = (): void => {
    if (flushQueued) return;
    flushQueued = true;
    setImmediate(flush);
  };
  d.routes.onChange(() => {
    routesDirty = true;
    queueFlush();
  });
  const poll = setInterval(queueFlush, 50);
  poll.unref();

  d.routes.addDrainer((replica) => {
    flush();
    return Promise.all(
      [...workers.values()].filter((w) => w.ready).map(
        (w) =>
          new Promise<void>((resolve) => {
            const n = ++seq;
            w.drains.set(n, resolve);
            w.child.send({ t: 'drain', seq: n, replica } satisfies ToWorker);
          }),
      ),
    ).then(() => undefined);
  });

  const onMessage = (w: Worker, m: ToPrimary, handle: unknown): void => {
    if (m.t === 'stats') {
      for (const e of m.events) {
        const key = `${e[0]}/${e[1]}`;
        if (e[2] === 0) {
          d.stats.onRequest(e[0], e[1], e[3]);
          w.requests++;
          w.outstanding.set(key, (w.outstanding.get(key) ?? 0) + 1);
        } else {
          d.stats.onResponse(e[0], e[1], e[3], e[4]);
          w.outstanding.set(key, (w.outstanding.get(key) ?? 1) - 1);
        }
      }
    } else if (m.t === 'cold') d.onColdStart(m.project, m.run);
    else if (m.t === 'log') d.log(m.line);
    else if (m.t === 'drained') {
      w.drains.get(m.seq)?.();
      w.drains.delete(m.seq);
    } else if (m.t === 'ready') {
      w.ready = true;
      for (const f of w.onReady.splice(0)) f();
      // The snapshot in `init` may be older than a change made while the worker started.
      w.child.send({ t: 'state', state: state() } satisfies ToWorker);
    } else if (m.t === 'handle') w.onHandle?.(handle as Server);
  };

  const spawnWorker = (index: number, handle: Server): Worker => {
    const child = spawn(process.execPath, d.argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: d.env });
    const w: Worker = { child, index, ready: false, requests: 0, outstanding: new Map(), drains: new Map(), onReady: [] };
    workers.set(index, w);
    child.on('message', (m: ToPrimary, h: unknown) => onMessage(w, m, h));
    child.on('error', (e) => d.log(`proxy worker ${index}: ${e.message}`));
    child.once('exit', (code, signal) => onExit(w, code, signal));
    const init: ToWorker = { t: 'init', index, socketPath: d.socketPath, hold: d.hold, state: state(), ...(d.tls ? { tls: d.tls.pem } : {}) };
    child.send(init, handle);
    return w;
  };

  const onExit = (w: Worker, code: number | null, signal: string | null): void => {
    if (workers.get(w.index) === w) workers.delete(w.index);
    for (const resolve of w.drains.values()) resolve();
    for (const [key, n] of w.outstanding) {
      const [project, run] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
      for (let i = 0; i < n; i++) d.stats.onResponse(project, run, 0, 502);
    }
    if (stopping) return;
    if (!w.ready && startupFailed) return startupFailed(new Error(`proxy worker ${w.index} exited before serving (${signal ?? `code ${code}`})`));
    crashes++;
    const delay = Math.min(5_000, 100 * 2 ** Math.min(crashes - 1, 6));
    d.log(`proxy worker ${w.index} (pid ${w.child.pid}) exited (${signal ?? `code ${code}`}); restarting it in ${delay} ms`);
    setTimeout(() => void replace(w.index).catch((e: unknown) => d.log(`proxy worker ${w.index}: restart failed: ${(e as Error).message}`)), delay);
  };

  // A handle that accepts while it is ours: what it accepts the primary serves itself until the new worker is up.
  const borrowHandle = async (): Promise<Server> => {
    const lender = [...workers.values()].find((w) => w.ready);
    if (lender) {
      const handle = await new Promise<Server | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), 2_000);
        lender.onHandle = (h) => {
          clearTimeout(timer);
          lender.onHandle = undefined;
          resolve(h);
        };
        lender.child.send({ t: 'lend' } satisfies ToWorker);
      });
      if (handle) {
        handle.on('connection', served);
        return handle;
      }
    }
    const fresh = createServer(served);
    await listen(fresh, port, d.host);
    return fresh;
  };

  const replace = async (index: number): Promise<void> => {
    if (stopping) return;
    const handle = await borrowHandle();
    const w = spawnWorker(index, handle);
    const startedAt = Date.now();
    w.onReady.push(() => {
      handle.close();
      // A worker that stays up 10 s ends a crash loop's backoff.
      setTimeout(() => {
        if (workers.get(index) === w && Date.now() - startedAt >= 10_000) crashes = 0;
      }, 10_000).unref();
    });
  };

  const stopAll = async (): Promise<void> => {
    stopping = true;
    clearInterval(poll);
    await Promise.all(
      [...workers.values()].map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve();
            w.child.once('exit', () => resolve());
            w.child.kill('SIGTERM');
          }),
      ),
    );
    // Not awaited: relayed streams still open end with the primary's data plane, which closes after this.
    unix.close();
    await rm(d.socketPath, { force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      startupFailed = reject;
      // A program that is not the worker role (a wrong argv) may neither serve nor exit: give up rather than hang.
      setTimeout(() => reject(new Error(`proxy workers did not start within 30 s (${process.execPath} ${d.argv.join(' ')})`)), 30_000).unref();
      let pending = d.count;
      for (let i = 0; i < d.count; i++) spawnWorker(i, tcp).onReady.push(() => --pending === 0 && resolve());
    });
  } catch (e) {
    tcp.close();
    await stopAll();
    throw e;
  } finally {
    startupFailed = undefined;
  }
  tcp.close();
  d.log(`proxy workers: ${d.count} processes (pids ${[...workers.values()].map((w) => w.child.pid).join(', ')}) share port ${port}`);

  return {
    port,
    pids: () => [...workers.values()].filter((w) => w.ready).map((w) => w.child.pid ?? 0),
    requests: () => new Map([...workers.values()].map((w) => [w.child.pid ?? 0, w.requests])),
    close: stopAll,
  };
}
