// Router replica groups (issue 14): which replicas take traffic, and how the router's worker list is brought in
// line with the ready workers, the way dstack's router_worker_sync.py decides it.
import { describe, expect, it } from 'vitest';
import {
  normalizeWorkerUrl,
  parseRouterWorkers,
  routerGroupOf,
  trafficReplicas,
  workerChanges,
  workerFromServerInfo,
  type TargetWorker,
} from '../../../src/core/runs/router.js';
import { syncRoutes } from '../../../src/daemon/reconcile/routes-sync.js';
import type { RouteTable, ServiceRoute } from '../../../src/proxy/contracts.js';
import { serviceConfig } from '../../helpers/configs.js';
import { replica, run } from '../reconcile/fixtures.js';

const pd = (type = 'sglang') =>
  serviceConfig({
    groups: [
      { name: 'prefill', replicas: 2, commands: ['x'] },
      { name: 'router', replicas: 1, router: { type }, commands: ['y'] },
      { name: 'decode', replicas: 1, commands: ['z'] },
    ],
  });
const replicas = [replica({ num: 0, group: 'prefill' }), replica({ num: 1, group: 'prefill' }), replica({ num: 2, group: 'router' }), replica({ num: 3, group: 'decode' })];
const worker = (url: string): TargetWorker => ({ url, worker_type: 'regular', connection_mode: 'http', runtime_type: 'sglang' });

describe('which replicas take the traffic', () => {
  it('names the router group and its type; a service without one has none', () => {
    expect(routerGroupOf(run({ config: pd() }))).toEqual({ name: 'router', type: 'sglang' });
    expect(routerGroupOf(run({ config: pd('dynamo') }))).toEqual({ name: 'router', type: 'dynamo' });
    expect(routerGroupOf(run())).toBeUndefined();
  });

  it('routes to the router group only, never to workers; without a router group every replica is routed', () => {
    expect(trafficReplicas(run({ config: pd() }), replicas).map((r) => r.num)).toEqual([2]);
    expect(trafficReplicas(run(), replicas).map((r) => r.num)).toEqual([0, 1, 2, 3]);
  });

  it('the route table gets the router replica only, marked with the router type', () => {
    const routes = new Map<string, ServiceRoute>();
    const table: RouteTable = {
      get: (p, r) => routes.get(`${p}/${r}`),
      set: (route) => void routes.set(`${route.project}/${route.run}`, route),
      delete: (p, r) => void routes.delete(`${p}/${r}`),
      list: () => [...routes.values()],
      waitForReplica: async () => false,
    };
    const options = { readTimeoutMs: 0, connection: () => ({ replicaOrigin: (port: number) => ({ origin: `http://127.0.0.1:${port}` }) }) };
    syncRoutes(table, [run({ status: 'running', config: pd(), replicas })], options);
    expect(table.get('main', 'svc')).toMatchObject({ router: 'sglang', replicas: [{ id: 'svc-2-0', origin: 'http://127.0.0.1:40002' }] });
    // The router not ready yet: no upstream at all, rather than a worker.
    syncRoutes(table, [run({ status: 'running', config: pd(), replicas: replicas.map((r) => (r.group === 'router' ? { ...r, ready: false, status: 'provisioning' } : r)) })], options);
    expect(table.get('main', 'svc')?.replicas).toEqual([]);
  });
});

describe('the router worker list', () => {
  it('reads GET /workers leniently: malformed entries and bodies count as no worker', () => {
    expect(parseRouterWorkers({ workers: [{ id: 'a', url: 'http://w:1' }, { url: 'http://w:2' }, { id: 'x' }, 'junk'] })).toEqual([
      { id: 'a', url: 'http://w:1' },
      { url: 'http://w:2' },
    ]);
    expect(parseRouterWorkers({ workers: 'no' })).toEqual([]);
    expect(parseRouterWorkers(null)).toEqual([]);
  });

  it('takes a worker from /server_info only when ready, typed by its disaggregation mode', () => {
    expect(workerFromServerInfo('http://a:8000', { status: 'starting' })).toBeUndefined();
    expect(workerFromServerInfo('http://a:8000', { status: 'ready', disaggregation_mode: 'null' })).toEqual(worker('http://a:8000'));
    expect(workerFromServerInfo('http://a:8000', { status: 'ready', disaggregation_mode: 'decode' })?.worker_type).toBe('decode');
    expect(workerFromServerInfo('http://a:8000', { status: 'ready', disaggregation_mode: 'prefill', disaggregation_bootstrap_port: 8998 })).toEqual({
      ...worker('http://a:8000'),
      worker_type: 'prefill',
      bootstrap_port: 8998,
    });
  });

  it('adds new workers, removes gone ones by id, and leaves listed ones alone (trailing slashes do not matter)', () => {
    const current = [{ id: 'w1', url: 'http://10.0.0.1:8000/' }, { id: 'w2', url: 'http://10.0.0.2:8000' }, { url: 'http://10.0.0.9:8000' }];
    const changes = workerChanges(current, [worker('http://10.0.0.1:8000'), worker('http://10.0.0.3:8000')]);
    expect(changes.add.map((w) => w.url)).toEqual(['http://10.0.0.3:8000']);
    expect(changes.remove).toEqual([{ id: 'w2', url: 'http://10.0.0.2:8000' }]);
    expect(changes.noId).toEqual(['http://10.0.0.9:8000']);
    expect(workerChanges([{ id: 'w1', url: 'http://10.0.0.1:8000' }], [worker('http://10.0.0.1:8000/')])).toEqual({ add: [], remove: [], noId: [] });
    expect(normalizeWorkerUrl(' http://h:1/a/ ')).toBe('http://h:1/a');
  });
});
