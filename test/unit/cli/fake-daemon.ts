/**
 * A control-API server (src/core/api.ts) on 127.0.0.1 port 0, for testing the commands without the real daemon:
 * a fake of our own interface at the CLI↔daemon boundary. It records requests and serves canned answers.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Offer, RunPlan, RunView } from '../../../src/core/api.js';

export interface FakeDaemonState {
  runs: RunView[];
  offers: Offer[];
  plan?: RunPlan;
  /** Snapshots sent on /events, one per `eventIntervalMs`. */
  events: RunView[];
  logs: Buffer;
  requests: Array<{ method: string; url: string; body: unknown }>;
}

export interface FakeDaemon {
  home: string;
  port: number;
  state: FakeDaemonState;
  close(): Promise<void>;
}

export async function startFakeDaemon(init: Partial<FakeDaemonState> = {}): Promise<FakeDaemon> {
  const home = await mkdtemp(join(tmpdir(), 'dstack-cli-cmd-'));
  const state: FakeDaemonState = { runs: [], offers: [], events: [], logs: Buffer.alloc(0), requests: [], ...init };
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString();
    state.requests.push({ method: req.method ?? '', url: req.url ?? '', body: text ? JSON.parse(text) : undefined });
    const url = new URL(req.url ?? '/', 'http://x');
    const p = url.pathname;
    if (p === '/api/health') return json(res, 200, { version: 'fake', pid: process.pid, uptimeSeconds: 1, home });
    const m = /^\/api\/runs\/([^/]+)(\/\w+)?$/.exec(p);
    const run = m ? state.runs.find((r) => r.name === decodeURIComponent(m[1]!)) : undefined;
    if (p === '/api/runs') return json(res, 200, { runs: state.runs });
    if (p === '/api/offers') return json(res, 200, { offers: state.offers });
    if (p === '/api/runs/plan' && state.plan) return json(res, 200, state.plan);
    if (p === '/api/runs/apply' && state.plan) return json(res, 200, state.events[0] ?? state.runs[0]);
    if (m && !run) return json(res, 404, { code: 'RUN_NOT_FOUND', message: `Run ${m[1]} not found`, hint: 'See `dstack ps -a`.' });
    if (m && run && !m[2]) return json(res, 200, run);
    if (m && run && m[2] === '/stop') return json(res, 200, { ...run, status: 'terminating' });
    if (m && run && m[2] === '/logs') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return res.end(state.logs);
    }
    if (m && run && m[2] === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const ev of state.events) res.write(`data: ${JSON.stringify(ev)}\n\n`);
      return; // kept open, as the real stream is, until the client goes away
    }
    json(res, 404, { code: 'NOT_FOUND', message: `no route ${p}` });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await mkdir(join(home, 'server'), { recursive: true });
  await writeFile(join(home, 'server/daemon.json'), JSON.stringify({ pid: process.pid, port, host: '127.0.0.1' }));
  return {
    home,
    port,
    state,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
