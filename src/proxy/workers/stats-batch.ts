/**
 * A worker's StatsSink: counts go to the primary's ServiceStats in one IPC message per ≤ 50 ms of traffic (nothing
 * is sent, and no timer runs, while the worker is idle), so the autoscaler and `/metrics` read the sum of all
 * workers. `inFlight` is this worker's own count.
 */
import type { StatsSink } from '../stats/stats-sink.js';
import type { StatsEvent } from './protocol.js';

export class BatchedStats implements StatsSink {
  private events: StatsEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly outstanding = new Map<string, number>();

  constructor(
    private readonly send: (events: StatsEvent[]) => void,
    private readonly intervalMs = 50,
  ) {}

  onRequest(project: string, run: string, now: number): void {
    this.push([project, run, 0, now]);
    const key = `${project}/${run}`;
    this.outstanding.set(key, (this.outstanding.get(key) ?? 0) + 1);
  }

  onResponse(project: string, run: string, latencyMs: number, status: number): void {
    this.push([project, run, 1, latencyMs, status]);
    const key = `${project}/${run}`;
    const n = (this.outstanding.get(key) ?? 1) - 1;
    if (n > 0) this.outstanding.set(key, n);
    else this.outstanding.delete(key);
  }

  inFlight(project: string, run: string): number {
    return this.outstanding.get(`${project}/${run}`) ?? 0;
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.events.length === 0) return;
    const events = this.events;
    this.events = [];
    this.send(events);
  }

  private push(event: StatsEvent): void {
    this.events.push(event);
    this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }
}
