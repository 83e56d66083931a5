import type { Offer, ReplicaView, RunPlan, RunView } from '../../../src/core/api.js';

const GiB = 1024 ** 3;
export const T0 = Date.parse('2025-06-01T12:00:00Z');

export function offer(over: Partial<Offer> = {}): Offer {
  return {
    backend: 'local',
    region: 'local',
    instanceType: 'local',
    resources: { cpus: 2, memoryBytes: 24 * GiB, diskBytes: 100 * GiB, gpus: [], arch: 'x86_64' },
    spot: false,
    price: 0,
    availability: 'idle',
    runtime: 'docker',
    ...over,
  };
}

export function replica(over: Partial<ReplicaView> = {}): ReplicaView {
  return {
    num: 0,
    submission: 0,
    deployment: 0,
    status: 'running',
    ready: true,
    probes: [],
    backend: 'local',
    instance: 'local',
    resources: offer().resources,
    submittedAt: T0 - 11 * 60_000,
    ...over,
  };
}

export function run(over: Partial<RunView> = {}): RunView {
  return {
    name: 'http-server-service',
    project: 'main',
    user: 'admin',
    type: 'service',
    status: 'running',
    submittedAt: T0 - 11 * 60_000,
    deployment: 0,
    desiredReplicas: 1,
    replicas: [replica()],
    url: 'http://127.0.0.1:3000/proxy/services/main/http-server-service/',
    auth: true,
    config: {},
    ...over,
  };
}

export function plan(over: Partial<RunPlan> = {}): RunPlan {
  return {
    project: 'main',
    user: 'admin',
    runName: 'http-server-service',
    resources: 'cpu=2.. mem=8GB.. disk=100GB..',
    spotPolicy: 'auto',
    maxPrice: 'off',
    retryPolicy: 'off',
    creationPolicy: 'reuse-or-create',
    idleDuration: '5m',
    maxDuration: 'off',
    offers: [offer()],
    totalOffers: 1,
    action: 'create',
    changes: [],
    warnings: [],
    ...over,
  };
}
