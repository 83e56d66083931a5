/**
 * Follows one agent's `/api/events` stream so status changes reach the reconciler at once instead of by polling.
 * Each (re)connection starts with a snapshot, which is how replicas are adopted after a daemon restart and how
 * changes missed while disconnected are caught up. Reconnects with a short fixed delay until stopped.
 */
import type { AgentEvent, ReplicaState } from '../../core/model/agent-api.js';
import type { Log } from '../process/log.js';
import { sleep, type Scheduler } from './scheduler.js';

/** What a watch needs of an agent connection: its event stream. */
export interface EventSource {
  client: { events(signal: AbortSignal): AsyncIterable<AgentEvent> };
}

export interface AgentWatchOptions {
  connect: () => Promise<EventSource>;
  onSnapshot: (replicas: ReplicaState[]) => void;
  onReplica: (state: ReplicaState) => void;
  onRemoved: (id: string) => void;
  /** The stream ended or failed; the connection should be re-checked before the next attempt. */
  onDisconnect: (e: unknown) => void;
  log: Log;
  scheduler: Scheduler;
  retryMs?: number;
}

export class AgentWatch {
  private controller: AbortController | undefined;
  private stopped = false;

  constructor(private readonly o: AgentWatchOptions) {}

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      this.controller = new AbortController();
      try {
        const conn = await this.o.connect();
        for await (const event of conn.client.events(this.controller.signal)) {
          if (event.type === 'snapshot') this.o.onSnapshot(event.replicas);
          else if (event.type === 'replica') this.o.onReplica(event.replica);
          else if (event.type === 'removed') this.o.onRemoved(event.id);
          else this.o.log(`agent docker ${event.available ? 'available' : `unavailable: ${event.error ?? ''}`}`);
        }
        if (!this.stopped) this.o.onDisconnect(new Error('event stream ended'));
      } catch (e) {
        if (!this.stopped) this.o.onDisconnect(e);
      }
      if (!this.stopped) await sleep(this.o.scheduler, this.o.retryMs ?? 1_000);
    }
  }
}
