/**
 * Replica groups with a router (dstack `ReplicaGroupRouterConfig`, PD disaggregation): one group runs an in-service
 * HTTP router (SGLang's, or Dynamo's frontend) and the other groups are its workers. Only the router group takes
 * the service's traffic (dstack `ServerProxyRepo.get_service`: `has_router_replica`); for `sglang` the daemon keeps
 * the router's `/workers` list equal to the ready worker replicas (dstack `router_worker_sync.py`), while Dynamo's
 * frontend finds its workers itself. These are the decisions; src/daemon/runs/router-workers.ts carries them out.
 */
import type { ReplicaRecord, RunRecord } from '../state/schema.js';
import { groupOf } from './groups.js';

export interface RouterGroup {
  name: string;
  type: 'sglang' | 'dynamo';
}

/** The group that runs the router, when the service has one (the config language allows at most one). */
export function routerGroupOf(run: Pick<RunRecord, 'config'>): RouterGroup | undefined {
  const g = run.config.groups?.find((x) => x.router !== undefined);
  return g?.router ? { name: g.name, type: g.router.type } : undefined;
}

/** The replicas the proxy may send traffic to: the router group's only, when there is one; workers never. */
export function trafficReplicas<R extends Pick<ReplicaRecord, 'group'>>(run: Pick<RunRecord, 'config'>, replicas: readonly R[]): R[] {
  const router = routerGroupOf(run);
  return router ? replicas.filter((r) => groupOf(r) === router.name) : [...replicas];
}

/** A worker as dstack posts it to the router's `POST /workers` (its `_TargetWorker`, HTTP connection mode only). */
export interface TargetWorker {
  url: string;
  worker_type: 'regular' | 'prefill' | 'decode';
  bootstrap_port?: number;
  connection_mode: 'http';
  runtime_type: 'sglang';
}

/** A worker as the router lists it (`GET /workers`): only what the sync reads. */
export interface RouterWorker {
  id?: string;
  url: string;
}

/** dstack caps the list it reads so a misbehaving router cannot make the daemon hold an unbounded array. */
export const MAX_ROUTER_WORKERS = 8192;

/** `GET /workers` body → its workers; anything malformed reads as none (dstack `_get_router_workers`). */
export function parseRouterWorkers(body: unknown): RouterWorker[] {
  const list = isObject(body) && Array.isArray(body.workers) ? body.workers.slice(0, MAX_ROUTER_WORKERS) : [];
  return list.flatMap((w): RouterWorker[] => {
    if (!isObject(w) || typeof w.url !== 'string' || w.url === '') return [];
    return [{ url: w.url, ...(typeof w.id === 'string' && w.id !== '' ? { id: w.id } : {}) }];
  });
}

/**
 * A worker's `GET /server_info` → how the router must see it, or undefined while it is not ready
 * (dstack `_probe_http_worker`: `status` must be `ready`; `disaggregation_mode` picks prefill/decode/regular).
 */
export function workerFromServerInfo(url: string, info: unknown): TargetWorker | undefined {
  if (!isObject(info) || info.status !== 'ready') return undefined;
  const mode = info.disaggregation_mode;
  const worker_type = mode === 'prefill' || mode === 'decode' ? mode : 'regular';
  const worker: TargetWorker = { url, worker_type, connection_mode: 'http', runtime_type: 'sglang' };
  const port = info.disaggregation_bootstrap_port;
  if (worker_type === 'prefill' && typeof port === 'number') worker.bootstrap_port = port;
  return worker;
}

/** Trailing slashes do not make a different worker (dstack `_normalize_worker_url`). */
export function normalizeWorkerUrl(url: string): string {
  const trimmed = url.trim();
  try {
    const u = new URL(trimmed);
    const path = u.pathname.replace(/\/+$/, '');
    return `${u.protocol}//${u.host}${path}${u.search}${u.hash}`;
  } catch {
    return trimmed.replace(/\/+$/, '');
  }
}

export interface WorkerChanges {
  add: TargetWorker[];
  /** Listed workers that are gone; removal is by id (`DELETE /workers/<id>`). */
  remove: { id: string; url: string }[];
  /** Gone workers the router listed without an id: they cannot be removed (dstack logs an error). */
  noId: string[];
}

/** What to add and remove so that the router lists exactly `target` (dstack `_update_workers_in_router_replica`). */
export function workerChanges(current: readonly RouterWorker[], target: readonly TargetWorker[]): WorkerChanges {
  const listed = new Map<string, string | undefined>();
  for (const w of current) {
    const key = normalizeWorkerUrl(w.url);
    if (!listed.has(key) || w.id !== undefined) listed.set(key, w.id);
  }
  const wanted = new Map(target.map((t) => [normalizeWorkerUrl(t.url), t]));
  const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const add = [...wanted.keys()].filter((k) => !listed.has(k)).sort(byKey).map((k) => wanted.get(k)!);
  const gone = [...listed.keys()].filter((k) => !wanted.has(k)).sort(byKey);
  const remove = gone.flatMap((url) => {
    const id = listed.get(url);
    return id === undefined ? [] : [{ id, url }];
  });
  return { add, remove, noId: gone.filter((url) => listed.get(url) === undefined) };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
