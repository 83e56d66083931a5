/**
 * `GET /api/runs/:name/metrics`: each active replica of the run, with figures its host's agent samples on request
 * (nothing is collected in between). Hosts are asked in parallel through the loop's agent connections (SSH tunnels
 * for fleet hosts); a host that does not answer costs its replicas their figures, not the whole answer.
 */
import type { ReplicaMetricsView, RunMetrics } from '../../core/api.js';
import type { ReplicaMetrics } from '../../core/model/agent-api.js';
import { isFinal, isRunFinished } from '../../core/reconcile/index.js';
import type { ReplicaRecord, RunRecord } from '../../core/state/schema.js';

/** What sampling needs of a run (the history sampler has no more than this). */
export type MeteredRun = Pick<RunRecord, 'name' | 'project' | 'status' | 'replicas'>;

export interface RunMetricsDeps {
  findRun: (name: string) => MeteredRun;
  /** The instance's agent connection, opened as the reconcile loop opens it. */
  connect: (instance: string) => Promise<{ client: { replicaMetrics(id: string, signal?: AbortSignal): Promise<ReplicaMetrics> } }>;
  /** Fleet hosts already known to be off the network are not waited for. */
  unreachable?: (instance: string) => boolean;
  /** Bounds one host's answer (connecting included); default 20 s. */
  timeoutMs?: number;
}

/** The replicas worth a row: the newest submission of each number that has not ended (none once the run ended). */
export function activeReplicas(run: MeteredRun): ReplicaRecord[] {
  if (isRunFinished(run)) return [];
  const newest = new Map<number, ReplicaRecord>();
  for (const r of run.replicas) {
    const seen = newest.get(r.num);
    if (!seen || r.submission > seen.submission || (r.submission === seen.submission && r.deployment > seen.deployment)) newest.set(r.num, r);
  }
  return [...newest.values()].filter((r) => !isFinal(r.status)).sort((a, b) => a.num - b.num);
}

export function createRunMetrics(d: RunMetricsDeps): (name: string) => Promise<RunMetrics> {
  const timeoutMs = d.timeoutMs ?? 20_000;
  const waited = timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`;
  const sample = async (r: ReplicaRecord): Promise<ReplicaMetricsView> => {
    const view: ReplicaMetricsView = {
      num: r.num,
      submission: r.submission,
      status: r.status,
      ...(r.group !== undefined ? { group: r.group } : {}),
      ...(r.backend !== undefined ? { backend: r.backend } : {}),
      ...(r.instance !== undefined ? { instance: r.instance } : {}),
    };
    // Replicas still provisioning or pulling have nothing to measure yet: listed without figures and without an error.
    if (r.status !== 'running' || r.removed) return view;
    const instance = r.instance ?? 'local';
    if (d.unreachable?.(instance)) return { ...view, error: `host ${instance} is unreachable` };
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      const deadline = new Promise<never>((_, reject) =>
        abort.signal.addEventListener('abort', () => reject(new Error(`host ${instance} did not answer within ${waited}`)), { once: true }),
      );
      const conn = await Promise.race([d.connect(instance), deadline]);
      return { ...view, metrics: await Promise.race([conn.client.replicaMetrics(r.id, abort.signal), deadline]) };
    } catch (e) {
      return { ...view, error: (e as Error).message };
    } finally {
      clearTimeout(timer);
    }
  };
  return async (name) => {
    const run = d.findRun(name);
    return { run: run.name, project: run.project, status: run.status, replicas: await Promise.all(activeReplicas(run).map(sample)) };
  };
}
