/**
 * The last hour of each run's figures for the dashboard's plots (issue 18): every 5 s, per active run, the request
 * rate, requests in flight, p50/p99 latency (the same ServiceStats that `/metrics` reads) and desired vs ready
 * replicas, in a fixed ring of 720 points. Memory stays bounded: a ring per run, and a run that ended (or was
 * deleted) is forgotten an hour after its last point, when all of its points are older than the plots show.
 */
import { isRunFinished } from '../../core/reconcile/run-status.js';
import type { RunRecord } from '../../core/state/schema.js';
import type { ServiceStats } from '../../proxy/stats/service-stats.js';
import type { HistoryPoint } from '../../core/api.js';

export const HISTORY_INTERVAL_S = 5;
export const HISTORY_SPAN_S = 3600;
export const HISTORY_POINTS = HISTORY_SPAN_S / HISTORY_INTERVAL_S;

export type { HistoryPoint };

/** A fixed-size ring: pushing past capacity overwrites the oldest point, so a run costs at most `capacity` points. */
export class PointRing {
  private readonly items: (HistoryPoint | undefined)[];
  private next = 0;
  private count = 0;

  constructor(readonly capacity = HISTORY_POINTS) {
    this.items = new Array<HistoryPoint | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(p: HistoryPoint): void {
    this.items[this.next] = p;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** Oldest first; only points with `t` greater than `after` when given (what a page that has the rest asks for). */
  points(after?: number): HistoryPoint[] {
    const out: HistoryPoint[] = [];
    const start = (this.next - this.count + this.capacity) % this.capacity;
    for (let i = 0; i < this.count; i++) {
      const p = this.items[(start + i) % this.capacity]!;
      if (after === undefined || p.t > after) out.push(p);
    }
    return out;
  }

  last(): HistoryPoint | undefined {
    return this.count === 0 ? undefined : this.items[(this.next - 1 + this.capacity) % this.capacity];
  }
}

export type HistoryRun = Pick<RunRecord, 'id' | 'project' | 'name' | 'status' | 'desiredReplicas' | 'replicas'>;

export interface RunHistoryOptions {
  runs: () => readonly HistoryRun[];
  stats: Pick<ServiceStats, 'snapshot'>;
  /** Milliseconds since the epoch. */
  clock: () => number;
  capacity?: number;
}

interface Track {
  /** A run applied again under the same name is a new run: its plots start empty. */
  runId: string;
  ring: PointRing;
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

export class RunHistory {
  private readonly tracks = new Map<string, Track>();

  constructor(private readonly o: RunHistoryOptions) {}

  /** One point for every active run, then forget runs whose newest point is over an hour old. */
  sample(): void {
    const now = this.o.clock();
    const t = Math.floor(now / 1000);
    for (const run of this.o.runs()) {
      if (isRunFinished(run)) continue;
      const key = `${run.project}/${run.name}`;
      let track = this.tracks.get(key);
      if (!track || track.runId !== run.id) {
        track = { runId: run.id, ring: new PointRing(this.o.capacity) };
        this.tracks.set(key, track);
      }
      const s = this.o.stats.snapshot(run.project, run.name, now);
      track.ring.push({
        t,
        rps: round(s.rps30, 3),
        inFlight: s.inFlight,
        p50: round(s.p50, 2),
        p99: round(s.p99, 2),
        desired: run.desiredReplicas,
        // As /metrics counts them: running and passing probes (older submissions are final, never running).
        ready: run.replicas.filter((r) => r.status === 'running' && r.ready).length,
      });
    }
    for (const [key, track] of this.tracks) if ((track.ring.last()?.t ?? 0) <= t - HISTORY_SPAN_S) this.tracks.delete(key);
  }

  /** The points of `project/run` (empty when it was never sampled), oldest first. */
  points(project: string, run: string, after?: number): HistoryPoint[] {
    return this.tracks.get(`${project}/${run}`)?.ring.points(after) ?? [];
  }

  has(project: string, run: string): boolean {
    return this.tracks.has(`${project}/${run}`);
  }

  /** Samples now and then every 5 s; the returned function stops it. The timer never keeps the process alive. */
  start(intervalMs = HISTORY_INTERVAL_S * 1000): () => void {
    this.sample();
    const timer = setInterval(() => this.sample(), intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}

