/**
 * Follows a fleet after apply until every host joined or failed, or the user presses Ctrl+C (which only ends the
 * watch: provisioning goes on in the daemon). A cloud fleet that creates nothing on apply (`nodes: 0..N`) ends at once. In a terminal the Ink view redraws; otherwise one plain line per
 * change of a host's status or step goes to the stream.
 */
import type { FleetView } from '../core/api.js';
import type { LiveView } from './live-view.js';
import { fleetOutcome, fleetProgressLines, type FleetOutcome } from './fleet-progress.js';

export type FleetWatchResult = { fleet: FleetView; outcome: FleetOutcome | { kind: 'interrupted' } | { kind: 'ended' } };

export interface WatchFleetOptions {
  initial: FleetView;
  /** Fleet snapshots until the signal aborts (the daemon client's `watchFleet`). */
  events: (signal: AbortSignal) => AsyncIterable<FleetView>;
  stream: NodeJS.WriteStream;
  tty: boolean;
  color: boolean;
  /** Subscribes to Ctrl+C; returns the unsubscribe. */
  onInterrupt: (handler: () => void) => () => void;
  /** Ink writes every frame (tests: Ink keeps only the last frame when CI is set). */
  debug?: boolean;
}

export async function watchFleetApply(o: WatchFleetOptions): Promise<FleetWatchResult> {
  let fleet = o.initial;
  let outcome = fleetOutcome(fleet);
  // Nothing is created on apply: no progress to draw; the command says when instances will come.
  if (outcome.kind === 'on-demand') return { fleet, outcome };
  const ac = new AbortController();
  let interrupted = false;
  const unsubscribe = o.onInterrupt(() => {
    interrupted = true;
    ac.abort();
  });
  const view: LiveView<FleetView> = o.tty
    ? (await import('./fleet-progress.view.js')).mountFleetProgress({ fleet: o.initial, stream: o.stream, color: o.color, debug: o.debug })
    : plainView(o.stream, o.initial);
  try {
    if (outcome.kind !== 'waiting') return { fleet, outcome };
    for await (const next of o.events(ac.signal)) {
      fleet = next;
      view.update(fleet);
      outcome = fleetOutcome(fleet);
      if (outcome.kind !== 'waiting') return { fleet, outcome };
    }
    return { fleet, outcome: interrupted ? { kind: 'interrupted' } : { kind: 'ended' } };
  } catch (e) {
    if (interrupted) return { fleet, outcome: { kind: 'interrupted' } };
    throw e;
  } finally {
    unsubscribe();
    ac.abort();
    await view.stop();
  }
}

function plainView(stream: NodeJS.WriteStream, initial: FleetView): LiveView<FleetView> {
  let prev: FleetView | undefined;
  const update = (fleet: FleetView) => {
    for (const line of fleetProgressLines(prev, fleet)) stream.write(`${line}\n`);
    prev = fleet;
  };
  update(initial);
  return { update, stop: async () => undefined };
}
