/**
 * `GET /api/runs/:name/events`: the run's view now, then again on every change, as `data: <RunView>` SSE events,
 * until the run is finished (the last view is sent) or the client goes away. A comment line every 15 s keeps
 * idle connections open through proxies.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RunView } from '../../../core/api.js';
import type { ControlPlane } from '../control.js';
import type { RunEvents } from '../events.js';

const FINAL = new Set(['terminated', 'failed', 'done']);

export function streamRunEvents(req: IncomingMessage, res: ServerResponse, control: ControlPlane, events: RunEvents, name: string): void {
  const first = control.get(name);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  let last = '';
  let ended = false;
  const send = (view: RunView): void => {
    const text = JSON.stringify(view);
    if (text === last || ended) return;
    last = text;
    res.write(`data: ${text}\n\n`);
    if (FINAL.has(view.status)) finish();
  };
  const unsubscribe = events.subscribe(() => {
    try {
      send(control.get(name));
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
