import type { ReplicaView, RunView } from '../../../src/core/api.js';

export function replica(over: Partial<ReplicaView> = {}): ReplicaView {
  return { num: 0, submission: 0, deployment: 0, status: 'running', ready: true, probes: [], submittedAt: 1_000, ...over };
}

export function run(over: Partial<RunView> = {}): RunView {
  return {
    name: 'svc',
    project: 'main',
    user: 'admin',
    type: 'service',
    status: 'running',
    submittedAt: 1_000,
    deployment: 0,
    desiredReplicas: 1,
    replicas: [replica()],
    url: 'http://127.0.0.1:3000/proxy/services/main/svc/',
    auth: true,
    config: {},
    ...over,
  };
}
