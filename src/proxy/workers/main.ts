/**
 * A proxy worker (`server.proxy_workers` ≥ 2): a process spawned by the daemon that serves `/proxy/services/*`,
 * WebSockets and `/proxy/models/*` on the listening socket it shares with the other workers, from a copy of the
 * primary's route table, token digests and model list that the primary pushes on every change. The control API, attach
 * and the services it does not serve itself (rate-limited or SSH-tunnelled: protocol.ts) are relayed to the
 * primary. It loads the data plane only, and exits when the primary goes away (IPC disconnect).
 */
import type { Server, Socket } from 'node:net';
import type { ModelEntry, ModelRegistry } from '../contracts.js';
import { SERVICES_PREFIX, parseServicePath } from '../http/admission.js';
import { makeDigestAuthenticate } from '../http/auth.js';
import { createProxyServer } from '../http/server.js';
import { createTlsFront } from '../http/tls-front.js';
import { makeForwarder } from '../models/forward.js';
import { createModelsHandler } from '../models/handler.js';
import { MemoryRouteTable } from '../routing/route-table.js';
import { fromWire, type ToPrimary, type ToWorker, type WorkerState } from './protocol.js';
import { relayRequest, relayUpgrade } from './relay.js';
import { BatchedStats } from './stats-batch.js';
import { isDashboardPath } from '../../core/api.js';

class ListModelRegistry implements ModelRegistry {
  constructor(private readonly entries: () => readonly ModelEntry[]) {}

  list(project: string): ModelEntry[] {
    const newest = new Map<string, ModelEntry>();
    for (const m of this.entries()) {
      if (m.project !== project) continue;
      const seen = newest.get(m.name);
      if (!seen || seen.createdAt < m.createdAt) newest.set(m.name, m);
    }
    return [...newest.values()];
  }

  find(project: string, name: string): ModelEntry | undefined {
    return this.list(project).find((m) => m.name === name);
  }
}

export function runProxyWorker(): void {
  if (!process.send) {
    process.stderr.write('dstack: the proxy worker role is started by the dstack server only\n');
    process.exitCode = 2;
    return;
  }
  const send = (m: ToPrimary, handle?: Server): void => {
    if (process.connected) process.send?.(m, handle as never);
  };
  // The primary is gone (crash, kill -9): nobody would update routes or read stats any more.
  process.on('disconnect', () => process.exit(0));

  const routes = new MemoryRouteTable();
  let digests = new Map<string, string[]>();
  let models: ModelEntry[] = [];
  let relayed = new Set<string>();
  let modelsRelayed = false;
  let relayKey: string | undefined;
  let listener: Server | undefined;

  const apply = (state: WorkerState): void => {
    routes.replace(state.routes.map(fromWire));
    relayed = new Set(state.routes.filter((r) => r.relay).map((r) => `${r.project}/${r.run}`));
    digests = new Map(state.digests);
    models = state.models;
    relayKey = state.relayKey;
    modelsRelayed = models.some((m) => relayed.has(`${m.project}/${m.run}`));
  };

  const start = (m: Extract<ToWorker, { t: 'init' }>, handle: Server): void => {
    apply(m.state);
    const stats = new BatchedStats((events) => send({ t: 'stats', events }));
    const onColdStart = (project: string, run: string): void => send({ t: 'cold', project, run });
    const authenticate = makeDigestAuthenticate((project) => digests.get(project));
    const log = (line: string): void => send({ t: 'log', line: `proxy worker ${m.index}: ${line}` });
    const toPrimary = relayRequest(m.socketPath);
    const proxy = createProxyServer({
      routes,
      authenticate,
      stats,
      log,
      onColdStart,
      ...m.hold,
      controlApi: toPrimary,
      relayKey: () => relayKey,
      controlUpgrade: relayUpgrade(m.socketPath),
      // The dashboard lives in the primary (it loads its assets lazily; workers never do).
      dashboard: (req, res) => {
        if (!isDashboardPath((req.url ?? '/').split('?', 1)[0]!)) return false;
        toPrimary(req, res);
        return true;
      },
      relay: (url) => {
        if (relayed.size === 0) return false;
        if (url.startsWith(SERVICES_PREFIX)) {
          const sp = parseServicePath(url);
          return sp !== undefined && relayed.has(`${sp.project}/${sp.run}`);
        }
        return modelsRelayed && url.startsWith('/proxy/models');
      },
      modelsApi: createModelsHandler({
        registry: new ListModelRegistry(() => models),
        forward: makeForwarder(routes, { stats, onColdStart, ...m.hold }),
        authenticate,
      }),
    });
    listener = handle;
    const front = m.tls ? createTlsFront(m.tls, (socket) => proxy.accept(socket)) : undefined;
    handle.on('connection', (socket: Socket) => {
      // The shared listener is a plain net.Server: the http server's noDelay never applied to what it accepts.
      socket.setNoDelay(true);
      if (front) front.accept(socket);
      else proxy.accept(socket);
    });
    send({ t: 'ready' });
  };

  process.on('message', (m: ToWorker, handle: unknown) => {
    if (m.t === 'init') start(m, handle as Server);
    else if (m.t === 'state') apply(m.state);
    else if (m.t === 'drain') void routes.drain(m.replica).then(() => send({ t: 'drained', seq: m.seq }));
    else if (m.t === 'lend' && listener) send({ t: 'handle' }, listener);
  });
}
