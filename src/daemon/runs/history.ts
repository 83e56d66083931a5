/**
 * The last hour of each run's figures for the dashboard's plots (issue 18): every 5 s, per active run, the request
 * rate, requests in flight, p50/p99 latency (the same ServiceStats that `/metrics` reads) and desired vs ready
 * replicas, in a fixed ring of 720 points; with `metrics`, each running replica's CPU, memory and GPU use as its
 * agent reports it (one request per replica per interval, none for runs that ended, none while the last is out).
 * Memory stays bounded: a ring per run, and a run that ended (or was deleted) is forgotten an hour after its last
 * point, when all of its points are older than the plots show.
 */
import { isRunFinished } from '../../core/reconcile/run-status.js';
import type { RunRecord } from '../../core/state/schema.js';
import type { ServiceStats } from '../../proxy/stats/service-stats.js';
import type { HistoryPoint, ReplicaFigures, RunMetrics } from '../../core/api.js';
import type { ReplicaMetrics } from '../../core/model/agent-metrics.js';

export const HISTORY_INTERVAL_S = 5;
export const HISTORY_SPAN_S = 3600;
export const HISTORY_POINTS = HISTORY_SPAN_S / HISTORY_INTERVAL_S;

export type { HistoryPoint, ReplicaFigures };

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
  /** The run's replicas sampled by their agents (run-metrics.ts); absent = no per-replica figures. */
  metrics?: (run: HistoryRun) => Promise<RunMetrics>;
}

interface Figures {
  /** Milliseconds since the epoch, when the answer came. */
  at: number;
  byReplica: Record<string, ReplicaFigures>;
}

interface Track {
  /** A run applied again under the same name is a new run: its plots start empty. */
  runId: string;
  ring: PointRing;
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;
const MIB = 1024 * 1024;

/** What the plots draw of an agent's sample: GPU figures only when some GPU reported them. */
export function figuresOf(m: ReplicaMetrics): ReplicaFigures {
  const f: ReplicaFigures = { cpu: round(m.cpu.percent, 1), memoryMiB: round(m.memory.usedBytes / MIB, 1) };
  const util = m.gpus.flatMap((g) => (g.utilizationPercent === undefined ? [] : [g.utilizationPercent]));
  const mem = m.gpus.flatMap((g) => (g.memoryUsedBytes === undefined ? [] : [g.memoryUsedBytes]));
  if (util.length > 0) f.gpu = round(util.reduce((a, b) => a + b, 0) / util.length, 1);
  if (mem.length > 0) f.gpuMemoryMiB = round(mem.reduce((a, b) => a + b, 0) / MIB, 1);
  return f;
}

export const replicaLabel = (r: { num: number; group?: string | undefined }): string => (r.group !== undefined ? `${r.group}/${r.num}` : String(r.num));

export class RunHistory {
  private readonly tracks = new Map<string, Track>();
  /** The newest per-replica figures of each run (by run id), and the runs whose agents are being asked now. */
  private readonly figures = new Map<string, Figures>();
  private readonly asking = new Set<string>();

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
        ...this.replicaFigures(run.id, now),
      });
    }
    for (const [key, track] of this.tracks) if ((track.ring.last()?.t ?? 0) <= t - HISTORY_SPAN_S) this.tracks.delete(key);
  }

  /** Figures that came within the last two intervals; older ones would plot a replica that may be gone. */
  private replicaFigures(runId: string, now: number): { replicas?: Record<string, ReplicaFigures> } {
    const f = this.figures.get(runId);
    if (!f || f.at < now - 2 * HISTORY_INTERVAL_S * 1000 || Object.keys(f.byReplica).length === 0) return {};
    return { replicas: f.byReplica };
  }

  /**
   * Asks the agents of every active run with a running replica for their replicas' figures, for the next points.
   * A run still waiting for its last answer is not asked again, so a slow host never stacks requests up.
   */
  async refreshReplicas(): Promise<void> {
    const ask = this.o.metrics;
    if (!ask) return;
    const runs = this.o.runs().filter((r) => !isRunFinished(r) && r.replicas.some((x) => x.status === 'running'));
    const wanted = new Set(runs.map((r) => r.id));
    for (const id of this.figures.keys()) if (!wanted.has(id)) this.figures.delete(id);
    await Promise.all(
      runs
        .filter((r) => !this.asking.has(r.id))
        .map(async (run) => {
          this.asking.add(run.id);
          try {
            const answer = await ask(run);
            const byReplica: Record<string, ReplicaFigures> = {};
            for (const r of answer.replicas) if (r.metrics) byReplica[replicaLabel(r)] = figuresOf(r.metrics);
            this.figures.set(run.id, { at: this.o.clock(), byReplica });
          } catch {
            // The run ended or went between the listing and the answer: it simply has no figures this time.
            this.figures.delete(run.id);
          } finally {
            this.asking.delete(run.id);
          }
        }),
    );
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
    void this.refreshReplicas();
    // The figures asked for now are in the next point: a point never waits for a slow host.
    const timer = setInterval(() => {
      this.sample();
      void this.refreshReplicas();
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}

