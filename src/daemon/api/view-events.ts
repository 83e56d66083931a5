/**
 * `GET /api/runs/:name/events` and `GET /api/fleets/:name/events`: the resource's view now, then again on every
 * change (a fleet's per-host provisioning progress included), as `data: <view JSON>` SSE events, until it reaches
 * a final status (the last view is sent) or the client goes away. A comment line every 15 s keeps idle connections
 * open through proxies.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isRunFinished } from '../../core/reconcile/index.js';
import type { ControlPlane } from '../runs/control.js';
import type { RunEvents } from './events.js';
import type { FleetManager } from '../fleets/fleets.js';
import { FLEET_DONE } from '../fleets/fleets-state.js';

interface ViewSource<V> {
  /** The current view; throws once the resource is gone (the stream then ends). */
  view: () => V;
  events: RunEvents;
  /** Whether a change event (a run id, a fleet name) concerns this stream. */
  concerns: (name: string) => boolean;
  /** The view is in a final status: it is sent, then the stream ends. */
  isFinal: (view: V) => boolean;
}

function streamViews<V extends { status: string }>(req: IncomingMessage, res: ServerResponse, source: ViewSource<V>): void {
  const first = source.view();
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  let last = '';
  let ended = false;
  const send = (view: V): void => {
    const text = JSON.stringify(view);
    if (text === last || ended) return;
    last = text;
    res.write(`data: ${text}\n\n`);
    if (source.isFinal(view)) finish();
  };
  const unsubscribe = source.events.subscribe((name) => {
    if (!source.concerns(name)) return;
    try {
      send(source.view());
    } catch {
      finish();
    }
  });
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  heartbeat.unref();
  function finish(): void {
    if (ended) return;
    ended = true;
    unsubscribe();
    clearInterval(heartbeat);
    res.end();
  }
  req.on('close', finish);
  res.on('close', finish);
  send(first);
}

const FLEET_FINAL: ReadonlySet<string> = FLEET_DONE;

export function streamRunEvents(req: IncomingMessage, res: ServerResponse, control: ControlPlane, events: RunEvents, name: string): void {
  // Any change may move this run (a stop, the reconciler): every event re-reads it; unchanged views are not resent.
  streamViews(req, res, { view: () => control.get(name), events, concerns: () => true, isFinal: isRunFinished });
}

export function streamFleetEvents(req: IncomingMessage, res: ServerResponse, fleets: FleetManager, events: RunEvents, name: string): void {
  streamViews(req, res, { view: () => fleets.get(name), events, concerns: (fleet) => fleet === name, isFinal: (f) => FLEET_FINAL.has(f.status) });
}
