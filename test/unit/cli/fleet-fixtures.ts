/**
 * Fleet views and plans for the fleet CLI tests, and a control-API server (src/core/api.ts, the fleet routes) on
 * 127.0.0.1 port 0: a fake of our own CLI↔daemon interface that records requests and serves canned snapshots.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FleetPlan, FleetView, InstanceView, Offer } from '../../../src/core/api.js';

const GiB = 1024 ** 3;
export const T0 = Date.parse('2025-06-01T12:00:00Z');

export function instance(over: Partial<InstanceView> = {}): InstanceView {
  return {
    name: 'my-fleet-0',
    fleet: 'my-fleet',
    host: 'root@10.77.0.11:22',
    status: 'idle',
    unreachable: false,
    resources: { cpus: 8, memoryBytes: 64 * GiB, diskBytes: 500 * GiB, gpus: [{ name: 'A100', memoryMiB: 81920, vendor: 'nvidia' }, { name: 'A100', memoryMiB: 81920, vendor: 'nvidia' }], arch: 'x86_64' },
    backend: 'remote',
    createdAt: T0 - 3 * 60_000,
    ...over,
  };
}

export function fleetView(over: Partial<FleetView> = {}): FleetView {
  return {
    name: 'my-fleet',
    project: 'main',
    status: 'active',
    instances: [instance(), instance({ name: 'my-fleet-1', host: 'root@10.77.0.12:22' })],
    createdAt: T0 - 3 * 60_000,
    config: {},
    ...over,
  };
}

export function fleetPlan(over: Partial<FleetPlan> = {}): FleetPlan {
  return {
    project: 'main',
    fleetName: 'my-fleet',
    action: 'create',
    hosts: [
      { host: 'root@10.77.0.11:22', instance: 'my-fleet-0', action: 'add' },
      { host: 'root@10.77.0.12:22', instance: 'my-fleet-1', action: 'add' },
    ],
    changes: [],
    warnings: [],
    ...over,
  };
}

export function sshOffer(over: Partial<Offer> = {}): Offer {
  return { backend: 'remote', region: 'remote', instanceType: 'instance', resources: instance().resources!, spot: false, price: 0, availability: 'idle', fleet: 'my-fleet', instance: 'my-fleet-0', ...over };
}

export interface FleetDaemonState {
  fleets: FleetView[];
  offers: Offer[];
  plan?: FleetPlan;
  /** Answer of POST /api/fleets/apply and DELETE (default: the first event, else the first fleet). */
  applied?: FleetView;
  /** Snapshots sent on /api/fleets/:name/events; the stream then stays open, as the real one does. */
  events: FleetView[];
  requests: Array<{ method: string; url: string; body: unknown }>;
}

export interface FleetDaemon {
  home: string;
  state: FleetDaemonState;
  close(): Promise<void>;
}

export async function startFleetDaemon(init: Partial<FleetDaemonState> = {}): Promise<FleetDaemon> {
  const home = await mkdtemp(join(tmpdir(), 'dstack-cli-fleet-'));
  const state: FleetDaemonState = { fleets: [], offers: [], events: [], requests: [], ...init };
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString();
    state.requests.push({ method: req.method ?? '', url: req.url ?? '', body: text ? JSON.parse(text) : undefined });
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    if (p === '/api/health') return json(res, 200, { version: 'fake', pid: process.pid, uptimeSeconds: 1, home });
    if (p === '/api/fleets') return json(res, 200, { fleets: state.fleets });
    if (p === '/api/offers') return json(res, 200, { offers: state.offers });
    if (p === '/api/fleets/plan' && state.plan) return json(res, 200, state.plan);
    const answer = state.applied ?? state.events[0] ?? state.fleets[0];
    if (p === '/api/fleets/apply' && answer) return json(res, 200, answer);
    const m = /^\/api\/fleets\/([^/]+)(\/events)?$/.exec(p);
    const fleet = m ? state.fleets.find((f) => f.name === decodeURIComponent(m[1]!)) : undefined;
    if (m && !fleet) return json(res, 404, { code: 'FLEET_NOT_FOUND', message: `Fleet ${decodeURIComponent(m[1]!)} not found`, hint: 'See `dstack fleet`.' });
    if (m && req.method === 'DELETE' && answer) return json(res, 200, answer);
    if (m && !m[2]) return json(res, 200, fleet);
    if (m && m[2]) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const ev of state.events) res.write(`data: ${JSON.stringify(ev)}\n\n`);
      return;
    }
    json(res, 404, { code: 'NOT_FOUND', message: `no route ${p}` });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await mkdir(join(home, 'server'), { recursive: true });
  await writeFile(join(home, 'server/daemon.json'), JSON.stringify({ pid: process.pid, port, host: '127.0.0.1' }));
  return {
    home,
    state,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
