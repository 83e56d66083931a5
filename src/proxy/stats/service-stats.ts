/**
 * Per-service request statistics in 1-second buckets kept for 300 s (dstack's gateway StatsCollector: 1-second
 * frames, TTL 300 s, windows 30/60/300 s). A ring of buckets per service: no allocation per request.
 */
import { BINS, binOf, percentile } from './latency-histogram.js';
import type { StatsSink, StatsSnapshot } from './stats-sink.js';

// 301 slots: a 300-second window that ends before the current second must not share a slot with it.
const SLOTS = 301;
const LATENCY_WINDOW_S = 60;

interface Bucket {
  second: number;
  requests: number;
  responses: number;
  latency: Uint32Array;
}

interface Service {
  ring: (Bucket | undefined)[];
  inFlight: number;
  totals: StatsTotals;
}

/** Counters since the daemon started (Prometheus counters for `/metrics`). */
export interface StatsTotals {
  requests: number;
  responses: number;
  latencySumMs: number;
}

export interface ServiceStatsOptions {
  /** Milliseconds since the epoch; injected so windows are testable. */
  clock?: () => number;
}

export class ServiceStats implements StatsSink {
  private readonly services = new Map<string, Service>();
  private readonly clock: () => number;
  /**
   * The last service counted: the proxy passes the route's own name strings (so the compare is a pointer check), and
   * a request and its response hit this without building the `project/run` key (a string concat and hash each).
   */
  private lastProject: string | undefined;
  private lastRun: string | undefined;
  private last: Service | undefined;

  constructor(options: ServiceStatsOptions = {}) {
    this.clock = options.clock ?? Date.now;
  }

  onRequest(project: string, run: string, now: number): void {
    const service = this.service(project, run);
    service.inFlight++;
    service.totals.requests++;
    this.bucket(service, Math.floor(now / 1000)).requests++;
  }

  onResponse(project: string, run: string, latencyMs: number, _status: number): void {
    const service = this.service(project, run);
    if (service.inFlight > 0) service.inFlight--;
    service.totals.responses++;
    service.totals.latencySumMs += latencyMs;
    const bucket = this.bucket(service, Math.floor(this.clock() / 1000));
    bucket.responses++;
    bucket.latency[binOf(latencyMs)]!++;
  }

  inFlight(project: string, run: string): number {
    return this.services.get(`${project}/${run}`)?.inFlight ?? 0;
  }

  /** Windows end at the last full second before `now`, so a window never counts a partly elapsed second. */
  snapshot(project: string, run: string, now: number): StatsSnapshot {
    const service = this.services.get(`${project}/${run}`);
    const current = Math.floor(now / 1000);
    const requestsSince = (seconds: number): number => {
      let sum = 0;
      for (const b of service?.ring ?? []) if (b && b.second < current && b.second >= current - seconds) sum += b.requests;
      return sum;
    };
    const merged = new Uint32Array(BINS);
    let responses = 0;
    for (const b of service?.ring ?? []) {
      // The ring is sparse until every slot was used once.
      if (!b || b.second > current || b.second < current - LATENCY_WINDOW_S) continue;
      responses += b.responses;
      for (let i = 0; i < BINS; i++) merged[i]! += b.latency[i]!;
    }
    return {
      rps30: requestsSince(30) / 30,
      rps60: requestsSince(60) / 60,
      rps300: requestsSince(300) / 300,
      inFlight: service?.inFlight ?? 0,
      p50: percentile(merged, responses, 0.5),
      p99: percentile(merged, responses, 0.99),
    };
  }

  totals(project: string, run: string): StatsTotals {
    const t = this.services.get(`${project}/${run}`)?.totals;
    return t ? { ...t } : { requests: 0, responses: 0, latencySumMs: 0 };
  }

  /** Forget a service that is gone (its run was deleted). */
  forget(project: string, run: string): void {
    this.services.delete(`${project}/${run}`);
    this.last = undefined;
  }

  private service(project: string, run: string): Service {
    if (this.last !== undefined && project === this.lastProject && run === this.lastRun) return this.last;
    const key = `${project}/${run}`;
    let service = this.services.get(key);
    if (!service) {
      service = { ring: [], inFlight: 0, totals: { requests: 0, responses: 0, latencySumMs: 0 } };
      this.services.set(key, service);
    }
    this.lastProject = project;
    this.lastRun = run;
    this.last = service;
    return service;
  }

  private bucket(service: Service, second: number): Bucket {
    const slot = second % SLOTS;
    let bucket = service.ring[slot];
    if (!bucket) {
      bucket = { second, requests: 0, responses: 0, latency: new Uint32Array(BINS) };
      service.ring[slot] = bucket;
    } else if (bucket.second < second) {
      bucket.second = second;
      bucket.requests = 0;
      bucket.responses = 0;
      bucket.latency.fill(0);
    }
    return bucket;
  }
}
