/**
 * `GET /api/fleets/:name/events`: the fleet's view now, then again on every change (per-host provisioning
 * progress included), as `data: <FleetView>` SSE events, until the fleet is terminated or failed (the last view
 * is sent) or the client goes away. A comment line every 15 s keeps idle connections open.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FleetView } from '../../../core/api.js';
import type { RunEvents } from '../events.js';
import type { FleetManager } from '../fleets.js';

const FINAL = new Set(['terminated', 'failed']);

export function streamFleetEvents(req: IncomingMessage, res: ServerResponse, fleets: FleetManager, events: RunEvents, name: string): void {
  const first = fleets.get(name);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  let last = '';
  let ended = false;
  const send = (view: FleetView): void => {
    const text = JSON.stringify(view);
    if (text === last || ended) return;
    last = text;
    res.write(`data: ${text}\n\n`);
    if (FINAL.has(view.status)) finish();
  };
  const unsubscribe = events.subscribe((fleet) => {
    if (fleet !== name) return;
    try {
      send(fleets.get(name));
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
