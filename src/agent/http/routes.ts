import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { AgentHealth, HostInfo, ReplicaMetrics } from '../../core/model/agent-api.js';
import { pruneArchives, type ArchiveStore } from '../archives/store.js';
import { isTerminal } from '../replicas/registry.js';
import { AgentError } from '../errors.js';
import type { ReplicaRegistry } from '../replicas/registry.js';
import type { Supervisor } from '../replicas/supervisor.js';
import type { Timers } from '../docker/watch.js';
import { streamEvents } from './events.js';
import { readJson, sendError, sendJson } from './respond.js';

export interface RouteContext {
  supervisor: Supervisor;
  registry: ReplicaRegistry;
  health: () => AgentHealth;
  hostInfo: () => Promise<HostInfo>;
  docker: () => { available: boolean; error?: string };
  timers: Timers;
  archives: ArchiveStore;
  /** Samples a replica's CPU, memory and GPUs on request (src/agent/metrics). */
  metrics: (id: string) => Promise<ReplicaMetrics>;
}

const REPLICA = /^\/api\/replicas\/([^/]+)$/;
const REPLICA_LOGS = /^\/api\/replicas\/([^/]+)\/logs$/;
const REPLICA_METRICS = /^\/api\/replicas\/([^/]+)\/metrics$/;
const ARCHIVE = /^\/api\/archives\/([^/]+)$/;
/** Archives unused for a week are deleted from the host when a new one arrives. */
const ARCHIVE_MAX_AGE_MS = 7 * 24 * 3600_000;

/** Optional non-negative number from the query string; a malformed one is a 400 naming the parameter. */
function queryNumber(url: URL, name: string): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new AgentError('INVALID_QUERY', `${name}: expected a non-negative number, got "${raw}"`, 400);
  return n;
}

/** The agent API of src/core/model/agent-api.ts, after authentication. */
export async function route(req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://agent');
  const method = req.method ?? 'GET';
  const path = url.pathname;
  let m: RegExpExecArray | null;
  try {
    if (method === 'GET' && path === '/api/health') return sendJson(res, 200, ctx.health());
    if (method === 'GET' && path === '/api/host') return sendJson(res, 200, await ctx.hostInfo());
    if (method === 'GET' && path === '/api/events') {
      streamEvents(res, { registry: ctx.registry, docker: ctx.docker, timers: ctx.timers });
      return;
    }
    if (path === '/api/replicas') {
      if (method === 'GET') return sendJson(res, 200, { replicas: ctx.supervisor.list() });
      if (method === 'POST') {
        const { state, created } = await ctx.supervisor.create(await readJson(req));
        return sendJson(res, created ? 201 : 200, state);
      }
    }
    if ((m = REPLICA.exec(path))) {
      const id = decodeURIComponent(m[1] as string);
      if (method === 'GET') return sendJson(res, 200, ctx.supervisor.get(id));
      if (method === 'DELETE') return sendJson(res, 200, await ctx.supervisor.stop(id, queryNumber(url, 'timeout')));
    }
    if ((m = REPLICA_LOGS.exec(path)) && method === 'GET') {
      return await streamLogs(req, res, ctx, decodeURIComponent(m[1] as string), url);
    }
    if ((m = REPLICA_METRICS.exec(path)) && method === 'GET') return sendJson(res, 200, await ctx.metrics(decodeURIComponent(m[1] as string)));
    if ((m = ARCHIVE.exec(path)) && (method === 'GET' || method === 'HEAD' || method === 'PUT')) {
      return await archive(req, res, ctx, method, decodeURIComponent(m[1] as string));
    }
    throw new AgentError('NOT_FOUND', `no route for ${method} ${path}`, 404);
  } catch (e) {
    sendError(res, e);
  }
}

/** GET/HEAD: 204 stored, 404 not; PUT: the body is stored under its verified sha256 (201, or 200 if it was there). */
async function archive(req: IncomingMessage, res: ServerResponse, ctx: RouteContext, method: string, sha: string): Promise<void> {
  const store = ctx.archives;
  const inUse = () => new Set(ctx.registry.list().flatMap((r) => (isTerminal(r) ? [] : [ctx.registry.spec(r.id)?.repo?.sha256 ?? ''])));
  if (method !== 'PUT') {
    if (!(await store.has(sha))) throw new AgentError('ARCHIVE_NOT_FOUND', `archive ${sha} is not on this host`, 404);
    res.writeHead(204).end();
    return;
  }
  if (await store.has(sha)) {
    req.resume();
    return sendJson(res, 200, { bytes: 0 });
  }
  const length = req.headers['content-length'];
  const bytes = await store.put(sha, req, length === undefined ? undefined : Number(length));
  sendJson(res, 201, { bytes });
  await pruneArchives(store, inUse(), ARCHIVE_MAX_AGE_MS, Date.now()).catch(() => undefined);
}

async function streamLogs(req: IncomingMessage, res: ServerResponse, ctx: RouteContext, id: string, url: URL): Promise<void> {
  const follow = ['1', 'true', 'yes'].includes(url.searchParams.get('follow') ?? '');
  const since = queryNumber(url, 'since');
  const controller = new AbortController();
  // The client going away ends the follow (and the Docker log stream behind it).
  res.on('close', () => controller.abort());
  const stream = await ctx.supervisor.logs(id, { follow, signal: controller.signal, ...(since !== undefined ? { since } : {}) });
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
  res.flushHeaders();
  await pipeline(stream, res).catch(() => {
    // A client disconnect or the container vanishing mid-stream just ends the response.
    res.destroy();
  });
  void req;
}
