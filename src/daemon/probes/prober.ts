/**
 * Probes (dstack-notes §1.7): HTTP requests through the replica's origin (undici), success = 2xx, each probe on its
 * own interval; results feed `applyProbeResult`, which marks the replica ready (and so routed), and once it was
 * ready, unhealthy after `failure_threshold` failures in a row (core liveness.ts). Each probe runs when its interval
 * is up, on a timer of its own rather than the reconciler's next tick, so an unhealthy replica leaves routing within
 * `failure_threshold` probe periods.
 *
 * Without probes dstack routes a replica as soon as it runs, and the first requests then hit a server that is
 * not listening yet (a common complaint). So without probes we first check that the port answers (see
 * `tcpConnect`); that is all the check does.
 */
import { connect } from 'node:net';
import { Agent, request, type Dispatcher } from 'undici';
import type { AgentConnection } from '../../backends/backend.js';
import { applyProbeResult, isRunFinished, probeDueIn } from '../../core/reconcile/index.js';
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
  /** Where a replica turning unhealthy or recovering is told (the daemon log). */
  log?: (line: string) => void;
}

/** One probe's answer: `detail` says how it failed, in the words the unhealthy reason uses. */
export interface ProbeOutcome {
  ok: boolean;
  detail: string;
}

export class Prober {
  private readonly inFlight = new Set<string>();
  private readonly lastTcp = new Map<string, number>();
  /** Replicas whose port answered (in memory: after a restart the check simply runs once more). */
  private readonly listening = new Set<string>();
  private readonly dispatcher = new Agent({ connections: 4, keepAliveTimeout: 1_000 });
  /** The next tick of its own: a TCP re-check (cold starts wait on it) or the next probe due. */
  private wake: { at: number; cancel: () => void } | undefined;
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
        // and then wait a whole `interval` (15 s by default) before the next try. An unhealthy replica was
        // listening: its probes go on, so that it can recover.
        if (!r.ready && r.unhealthy === undefined && !this.listening.has(r.id)) {
          this.tcp(r, origin, dispatcher, now, () => this.listening.add(r.id));
          continue;
        }
        run.settings.probes.forEach((probe, i) => {
          const dueIn = probeDueIn(r, run.settings, i, now);
          if (dueIn === 0) this.http(r, run, i, probe, origin, dispatcher ?? this.dispatcher);
          else if (dueIn !== undefined) this.wakeIn(dueIn);
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
    this.wake?.cancel();
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
      if (!ok) return this.wakeIn(retryMs);
      this.lastTcp.delete(r.id);
      onListening();
    });
  }

  /** Ticks again in `ms` (or sooner, when an earlier wake is already set). */
  private wakeIn(ms: number): void {
    if (this.closed) return;
    const at = this.o.clock() + ms;
    if (this.wake && this.wake.at <= at) return;
    this.wake?.cancel();
    const cancel = (this.o.scheduler ?? nodeScheduler).setTimeout(() => {
      this.wake = undefined;
      this.tick();
    }, ms);
    this.wake = { at, cancel };
  }

  private http(r: ReplicaRecord, run: RunRecord, index: number, probe: ProbeSettings, origin: string, dispatcher: Dispatcher): void {
    // `launch` marks the attempt first so a slow probe is not started again on the next tick.
    let outcome: ProbeOutcome = { ok: false, detail: 'failed' };
    const check = async () => (outcome = await httpProbe(probe, origin, dispatcher).catch(probeError(probe))).ok;
    this.launch(`${r.id}#${index}`, check, () => {
      this.o.update(r.id, (x) => this.logged(x, applyProbeResult(x, run.settings, index, outcome.ok, this.o.clock(), outcome.detail)));
      // The interval counts from the end of this probe (dstack's meaning), so the next one is due from now.
      this.wakeIn(probe.intervalSeconds * 1000);
    });
  }

  private logged(before: ReplicaRecord, after: ReplicaRecord): ReplicaRecord {
    if (!before.unhealthy && after.unhealthy) this.o.log?.(`replica ${after.id}: unhealthy, ${after.unhealthy.reason}`);
    if (before.unhealthy && !after.unhealthy) this.o.log?.(`replica ${after.id}: probes pass again, back in routing`);
    return after;
  }
}

/** A probe that got no answer: why, by undici's error code (never by message text). */
function probeError(probe: ProbeSettings): (err: unknown) => ProbeOutcome {
  return (err) => {
    const code = (err as { code?: unknown; name?: unknown } | null)?.code;
    const name = (err as { name?: unknown } | null)?.name;
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || name === 'TimeoutError') {
      return { ok: false, detail: `no answer within ${probe.timeoutSeconds}s` };
    }
    if (code === 'ECONNREFUSED') return { ok: false, detail: 'connection refused' };
    return { ok: false, detail: typeof code === 'string' ? code : 'request failed' };
  };
}

export async function httpProbe(probe: ProbeSettings, origin: string, dispatcher: Dispatcher): Promise<ProbeOutcome> {
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
  return { ok: res.statusCode >= 200 && res.statusCode < 300, detail: `HTTP ${res.statusCode}` };
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
