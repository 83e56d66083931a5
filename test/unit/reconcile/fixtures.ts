import type { ReplicaRecord, RunRecord, RunSettings } from '../../../src/core/state/schema.js';
import type { ReplicaState } from '../../../src/core/model/agent-api.js';
import { serviceConfig } from '../../helpers/configs.js';

export function settings(over: Partial<RunSettings> = {}): RunSettings {
  return {
    replicas: { min: 1, max: 1 },
    autoscaling: false,
    probes: [],
    tcpCheck: true,
    stopDurationSeconds: 300,
    creationPolicy: 'reuse-or-create',
    auth: true,
    stripPrefix: true,
    rateLimits: [],
    ...over,
  };
}

export function run(over: Partial<RunRecord> = {}): RunRecord {
  return {
    id: 'r1',
    name: 'svc',
    project: 'main',
    user: 'admin',
    configRaw: {},
    config: serviceConfig(),
    settings: settings(),
    specTemplate: { project: 'main', runName: 'svc', image: 'img', pullPolicy: 'if-not-present', commands: [], imageSetup: [], shell: '/bin/sh', env: {}, privileged: false, volumes: [], port: 8000, stopTimeoutSeconds: 10, runtime: 'auto' },
    status: 'submitted',
    submittedAt: 0,
    deployment: 0,
    desiredReplicas: 1,
    submissionBase: 0,
    replicas: [],
    ...over,
  };
}

export function replica(over: Partial<ReplicaRecord> = {}): ReplicaRecord {
  const num = over.num ?? 0;
  const submission = over.submission ?? 0;
  return {
    id: `svc-${num}-${submission}`,
    num,
    submission,
    deployment: 0,
    status: 'running',
    ready: true,
    probes: [],
    instance: 'local',
    backend: 'local',
    hostPort: 40000 + num,
    submittedAt: 0,
    ...over,
  };
}

export function agentState(over: Partial<ReplicaState> = {}): ReplicaState {
  return { id: 'svc-0-0', runName: 'svc', replicaNum: 0, project: 'main', runtime: 'docker', phase: 'running', createdAt: 0, ...over };
}

export const ctx = (now: number, over: object = {}) => ({ now, backoffBaseMs: 1000, crashLoopLimit: 3, backend: 'local', instance: 'local', ...over });
