/**
 * Holding a request while its service scales up from zero (DESIGN.md §4): a bounded queue per service, a bounded
 * wait, and a wake-up call to the autoscaler on the first held request, instead of a 503 at once.
 */
import type { RouteTable } from '../contracts.js';
import type { HeldRequests } from '../routing/held-requests.js';

export interface HoldOptions {
  /** Requests held per service while it scales up from zero; more get 503 at once. Default 256. */
  maxHeldPerService: number;
  /** How long a held request waits for a ready replica (model loading can take minutes). Default 600 s. */
  holdTimeoutMs: number;
  /** Called on the first held request of a service, so the autoscaler scales up without waiting for its tick. */
  onColdStart: ((project: string, run: string) => void) | undefined;
}

export const DEFAULT_MAX_HELD_PER_SERVICE = 256;
export const DEFAULT_HOLD_TIMEOUT_MS = 600_000;

export type HoldOutcome =
  /** The route has a ready replica now. */
  | 'ready'
  /** `maxHeldPerService` requests are held already: this one was not. */
  | 'full'
  /** No replica within `holdTimeoutMs`, or the service was deleted meanwhile. */
  | 'timeout'
  /** The signal fired: the client went away. */
  | 'aborted';

export class ColdStartHold {
  constructor(
    private readonly routes: RouteTable,
    /** Shared with every other entry point of the same route table (see `heldRequestsOf`). */
    private readonly held: HeldRequests,
    readonly options: HoldOptions,
  ) {}

  async wait(project: string, run: string, signal: AbortSignal): Promise<HoldOutcome> {
    const service = `${project}/${run}`;
    const before = this.held.enter(service, this.options.maxHeldPerService);
    if (before === undefined) return 'full';
    let ready: boolean;
    try {
      if (before === 0) this.options.onColdStart?.(project, run);
      ready = await this.routes.waitForReplica(project, run, this.options.holdTimeoutMs, signal);
    } finally {
      this.held.leave(service);
    }
    if (signal.aborted) return 'aborted';
    return ready ? 'ready' : 'timeout';
  }

  /** Requests of `project/run` held now (all entry points together). */
  heldCount(project: string, run: string): number {
    return this.held.count(`${project}/${run}`);
  }
}

/** The bounds with their defaults filled in; the service proxy and the model endpoint use the same ones. */
export function holdOptions(partial: Partial<HoldOptions>): HoldOptions {
  return {
    maxHeldPerService: partial.maxHeldPerService ?? DEFAULT_MAX_HELD_PER_SERVICE,
    holdTimeoutMs: partial.holdTimeoutMs ?? DEFAULT_HOLD_TIMEOUT_MS,
    onColdStart: partial.onColdStart,
  };
}
