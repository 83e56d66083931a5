/**
 * Keeps each SGLang router replica's worker list equal to the service's ready worker replicas (issue 14; dstack
 * `router_worker_sync.py`, HTTP connection mode): `GET /workers` on the router, `GET /server_info` on each worker
 * (ready, and prefill/decode/regular), then `POST /workers` for new ones and `DELETE /workers/<id>` for gone ones.
 * It runs on the reconciler's tick; a failure is logged (once until it changes) and the next tick tries again.
 *
 * Worker URLs must be reachable from inside the router replica, not from the daemon: a container worker is
 * `http://<its address on the Docker network>:<service port>` (the host's bridge lets containers reach each other;
 * published ports are bound to the host's 127.0.0.1 only), a process worker `http://127.0.0.1:<port>`. So only
 * workers on the router's own host are given to it; others are logged and left out.
 */
import { Agent, type Dispatcher } from 'undici';
import type { AgentConnection } from '../../backends/backend.js';
import type { AgentClient } from '../../backends/agent-client.js';
import { isRunFinished } from '../../core/reconcile/index.js';
import { groupOf } from '../../core/runs/groups.js';
import { parseRouterWorkers, routerGroupOf, workerChanges, workerFromServerInfo, type TargetWorker } from '../../core/runs/router.js';
import type { ReplicaRecord, RunRecord } from '../../core/state/schema.js';
import type { Log } from '../process/log.js';
import { callJson, MAX_ACK_BYTES, MAX_SERVER_INFO_BYTES, MAX_WORKERS_BYTES } from './router-http.js';

type Connection = Pick<AgentConnection, 'replicaOrigin'> & { client: Pick<AgentClient, 'getReplica'> };

export interface RouterWorkersOptions {
  runs: () => readonly RunRecord[];
  connection: (instance: string) => Connection | undefined;
  log: Log;
  clock: () => number;
  /** A router already in sync is checked again after this long (it may have restarted and lost its list). */
  resyncMs?: number;
}

const live = (r: ReplicaRecord): r is ReplicaRecord & { hostPort: number } => r.status === 'running' && !r.stop && r.hostPort !== undefined;
const instanceOf = (r: ReplicaRecord) => r.instance ?? 'local';

export class RouterWorkerSync {
  private readonly inFlight = new Set<string>();
  /** Per router replica: what it was last fully synced with, and when. */
  private readonly synced = new Map<string, { key: string; at: number }>();
  /** Container addresses by replica id: fixed for a container's life, so asked of the agent once. */
  private readonly addresses = new Map<string, string>();
  /** The last failure logged per replica, so a replica still starting is not logged every tick. */
  private readonly lastError = new Map<string, string>();
  private readonly dispatcher = new Agent({ connections: 4, keepAliveTimeout: 1_000 });

  constructor(private readonly o: RouterWorkersOptions) {}

  tick(): void {
    const now = this.o.clock();
    const seen = new Set<string>();
    for (const run of this.o.runs()) {
      if (isRunFinished(run)) continue;
      for (const r of run.replicas) seen.add(r.id);
      const group = routerGroupOf(run);
      // Dynamo's frontend discovers its workers itself (etcd/NATS): dstack syncs SGLang routers only.
      if (group?.type !== 'sglang') continue;
      const workers = run.replicas.filter((r) => groupOf(r) !== group.name && live(r) && r.ready);
      for (const router of run.replicas.filter(live).filter((r) => groupOf(r) === group.name)) {
        const key = workers.map((w) => w.id).sort().join(',');
        const last = this.synced.get(router.id);
        if (this.inFlight.has(router.id) || (last?.key === key && now - last.at < (this.o.resyncMs ?? 10_000))) continue;
        this.inFlight.add(router.id);
        void this.syncRouter(run, router, workers)
          .then((complete) => {
            this.lastError.delete(router.id);
            if (complete) this.synced.set(router.id, { key, at: now });
            else this.synced.delete(router.id);
          })
          .catch((e: unknown) => this.failed(run, router, e))
          .finally(() => this.inFlight.delete(router.id));
      }
    }
    for (const map of [this.synced, this.addresses, this.lastError]) for (const id of map.keys()) if (!seen.has(id)) map.delete(id);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  /** True when the router now lists exactly the ready workers (nothing skipped or failed). */
  private async syncRouter(run: RunRecord, router: ReplicaRecord & { hostPort: number }, workers: ReplicaRecord[]): Promise<boolean> {
    const conn = this.o.connection(instanceOf(router));
    if (!conn) return false;
    const at = this.target(conn, router.hostPort);
    const current = parseRouterWorkers(await callJson({ ...at, method: 'GET', path: '/workers', ok: [200], maxBytes: MAX_WORKERS_BYTES }));
    const targets: TargetWorker[] = [];
    let complete = true;
    for (const w of workers) {
      const worker = await this.probeWorker(run, router, w).then(
        (x) => (this.lastError.delete(w.id), x),
        (e: unknown) => void this.note(w.id, `run ${run.name}: worker ${w.id} left out of the router: ${(e as Error).message}`),
      );
      if (worker) targets.push(worker);
      else complete = false;
    }
    const changes = workerChanges(current, targets);
    for (const url of changes.noId) this.o.log(`run ${run.name}: router ${router.id} lists worker ${url} without an id; it cannot be removed`);
    for (const t of changes.add) {
      const ack = await callJson({ ...at, method: 'POST', path: '/workers', body: t, ok: [202], maxBytes: MAX_ACK_BYTES });
      if (!accepted(ack)) throw new Error(`the router did not accept worker ${t.url}`);
      this.o.log(`run ${run.name}: router ${router.id}: added ${t.worker_type} worker ${t.url}`);
    }
    for (const { id, url } of changes.remove) {
      const ack = await callJson({ ...at, method: 'DELETE', path: `/workers/${encodeURIComponent(id)}`, ok: [202], maxBytes: MAX_ACK_BYTES });
      if (!accepted(ack)) throw new Error(`the router did not accept removing worker ${url}`);
      this.o.log(`run ${run.name}: router ${router.id}: removed worker ${url}`);
    }
    return complete && changes.noId.length === 0;
  }

  /** The worker as the router must see it, or undefined while its `/server_info` does not say ready. */
  private async probeWorker(run: RunRecord, router: ReplicaRecord, w: ReplicaRecord): Promise<TargetWorker | undefined> {
    const conn = this.o.connection(instanceOf(w));
    if (!conn || w.hostPort === undefined) return undefined;
    if (instanceOf(w) !== instanceOf(router)) throw new Error(`runs on ${instanceOf(w)}, the router on ${instanceOf(router)}: the router cannot reach it`);
    const url = await this.workerUrl(run, w, conn);
    const info = await callJson({ ...this.target(conn, w.hostPort), method: 'GET', path: '/server_info', ok: [200], maxBytes: MAX_SERVER_INFO_BYTES });
    return workerFromServerInfo(url, info);
  }

  private async workerUrl(run: RunRecord, w: ReplicaRecord & { hostPort?: number }, conn: Connection): Promise<string> {
    if (w.runtime === 'process') return `http://127.0.0.1:${w.hostPort}`;
    let address = this.addresses.get(w.id);
    if (address === undefined) {
      address = (await conn.client.getReplica(w.id)).address;
      if (address === undefined) throw new Error('its agent reports no container address');
      this.addresses.set(w.id, address);
    }
    const port = (run.specTemplates?.[groupOf(w)] ?? run.specTemplate).port;
    return `http://${address}:${port}`;
  }

  private target(conn: Connection, hostPort: number): { origin: string; dispatcher: Dispatcher } {
    const { origin, dispatcher } = conn.replicaOrigin(hostPort);
    return { origin, dispatcher: dispatcher ?? this.dispatcher };
  }

  private failed(run: RunRecord, router: ReplicaRecord, e: unknown): void {
    this.synced.delete(router.id);
    this.note(router.id, `run ${run.name}: syncing workers with router ${router.id} failed (retrying): ${(e as Error).message ?? String(e)}`);
  }

  /** Logs `line` unless it is what was last logged for `key` (a replica still starting fails the same way each tick). */
  private note(key: string, line: string): void {
    if (this.lastError.get(key) === line) return;
    this.lastError.set(key, line);
    this.o.log(line);
  }
}

const accepted = (ack: unknown): boolean => typeof ack === 'object' && ack !== null && (ack as { status?: unknown }).status === 'accepted';
