/**
 * Readiness probes (dstack-notes §1.7): HTTP requests through the replica's origin (undici), success = 2xx,
 * each probe on its own interval; results feed `applyProbeResult`, which marks the replica ready (and so routed).
 *
 * Without probes dstack routes a replica as soon as it runs, and the first requests then hit a server that is
 * not listening yet (a common complaint). So without probes we first check that the port answers (see
 * `tcpConnect`); that is all the check does.
 */
import { connect } from 'node:net';
import { Agent, request, type Dispatcher } from 'undici';
import type { AgentConnection } from '../../backends/backend.js';
import { applyProbeResult, isRunFinished, probeDue } from '../../core/reconcile/index.js';
import type { ProbeSettings, ReplicaRecord, RunRecord } from '../../core/state/schema.js';
import { nodeScheduler, type Scheduler } from '../reconcile/scheduler.js';

export interface ProberOptions {
  runs: () => readonly RunRecord[];
  connection: (instance: string) => Pick<AgentConnection, 'replicaOrigin'> | undefined;
  update: (replicaId: string, fn: (r: ReplicaRecord, run: RunRecord) => ReplicaRecord) => void;
  clock: () => number;
  /** Default: node timers. */
  scheduler?: Scheduler;
  /** Pause between TCP checks of a replica that is not listening yet (default 200 ms). */
  tcpRetryMs?: number;
}

export class Prober {
  private readonly inFlight = new Set<string>();
  private readonly lastTcp = new Map<string, number>();
  /** Replicas whose port answered (in memory: after a restart the check simply runs once more). */
  private readonly listening = new Set<string>();
  private readonly dispatcher = new Agent({ connections: 4, keepAliveTimeout: 1_000 });
  /** A re-check of ports not listening yet, sooner than the next reconciler tick (cold starts wait on it). */
  private cancelRetry: (() => void) | undefined;
  private closed = false;

  constructor(private readonly o: ProberOptions) {}

  /** Starts the probes that are due; results arrive asynchronously. */
  tick(): void {
    const now = this.o.clock();
    const running = new Set<string>();
    for (const run of this.o.runs()) {
      if (isRunFinished(run)) continue;
      for (const r of run.replicas) {
        if (r.status !== 'running' || r.stop || r.hostPort === undefined) continue;
        running.add(r.id);
        const conn = this.o.connection(r.instance ?? 'local');
        if (!conn) continue;
        const { origin, dispatcher } = conn.replicaOrigin(r.hostPort);
        if (run.settings.probes.length === 0) {
          if (!r.ready) this.tcp(r, origin, dispatcher, now, () => this.o.update(r.id, (x) => applyProbeResult(x, run.settings, -1, true, this.o.clock())));
          continue;
        }
        // HTTP probes start once the port answers: a first probe against a server still starting would fail
        // and then wait a whole `interval` (15 s by default) before the next try.
        if (!r.ready && !this.listening.has(r.id)) {
          this.tcp(r, origin, dispatcher, now, () => this.listening.add(r.id));
          continue;
        }
        run.settings.probes.forEach((probe, i) => {
          if (probeDue(r, run.settings, i, now)) this.http(r, run, i, probe, origin, dispatcher ?? this.dispatcher);
        });
      }
    }
    for (const id of [...this.listening, ...this.lastTcp.keys()]) {
      if (!running.has(id)) {
        this.listening.delete(id);
        this.lastTcp.delete(id);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelRetry?.();
    await this.dispatcher.close();
  }

  private launch(key: string, check: () => Promise<boolean>, done: (ok: boolean) => void): void {
    if (this.inFlight.has(key)) return;
    this.inFlight.add(key);
    void check()
      .catch(() => false)
      .then((ok) => done(ok))
      .finally(() => this.inFlight.delete(key));
  }

  private tcp(r: ReplicaRecord, origin: string, dispatcher: Dispatcher | undefined, now: number, onListening: () => void): void {
    const last = this.lastTcp.get(r.id);
    const retryMs = this.o.tcpRetryMs ?? 200;
    if (last !== undefined && now - last < retryMs) return;
    this.lastTcp.set(r.id, now);
    const url = new URL(origin);
    // A fleet host's port is only reachable through its SSH tunnel (the dispatcher): any HTTP answer there counts.
    const check = dispatcher ? () => answers(origin, dispatcher) : () => tcpConnect(url.hostname, Number(url.port));
    this.launch(`${r.id}#tcp`, check, (ok) => {
      if (!ok) return this.retrySoon(retryMs);
      this.lastTcp.delete(r.id);
      onListening();
    });
  }

  private retrySoon(ms: number): void {
    if (this.cancelRetry || this.closed) return;
    this.cancelRetry = (this.o.scheduler ?? nodeScheduler).setTimeout(() => {
      this.cancelRetry = undefined;
      this.tick();
    }, ms);
  }

  private http(r: ReplicaRecord, run: RunRecord, index: number, probe: ProbeSettings, origin: string, dispatcher: Dispatcher): void {
    // Mark the attempt first so a slow probe is not started again on the next tick.
    this.launch(`${r.id}#${index}`, () => httpProbe(probe, origin, dispatcher), (ok) => {
      this.o.update(r.id, (x) => applyProbeResult(x, run.settings, index, ok, this.o.clock()));
    });
  }
}

export async function httpProbe(probe: ProbeSettings, origin: string, dispatcher: Dispatcher): Promise<boolean> {
  const timeout = probe.timeoutSeconds * 1000;
  const headers: Record<string, string> = {};
  for (const h of probe.headers) headers[h.name] = h.value;
  if (probe.body !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
    headers['content-type'] = 'application/json';
  }
  const res = await dispatcher.request({
    origin,
    path: probe.url,
    method: probe.method.toUpperCase() as Dispatcher.HttpMethod,
    headers,
    body: probe.body ?? null,
    headersTimeout: timeout,
    bodyTimeout: timeout,
    signal: AbortSignal.timeout(timeout),
  });
  await res.body.dump();
  return res.statusCode >= 200 && res.statusCode < 300;
}

/**
 * Whether a server answers on host:port. A bare TCP connect is not enough: Docker's userland proxy accepts
 * connections on the published port even when nothing listens in the container, then closes them. So a tiny
 * HTTP request is sent: any bytes back (any status) = listening; closed without a byte = not yet; still open
 * after `timeoutMs` = accepted and busy, which counts as listening.
 */
/** Whether anything answers HTTP at `origin` through `dispatcher` (any status). */
async function answers(origin: string, dispatcher: Dispatcher, timeoutMs = 3_000): Promise<boolean> {
  const res = await request(origin, { dispatcher, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  await res.body.dump();
  return true;
}

export function tcpConnect(host: string, port: number, timeoutMs = 3_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let settled = false;
    let connected = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(connected));
    socket.once('connect', () => (connected = true) && socket.write(`GET / HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: close\r\n\r\n`));
    socket.once('data', () => done(true));
    socket.once('close', () => done(false));
    socket.once('error', () => done(false));
  });
}
