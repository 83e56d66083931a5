import type { ServiceInput } from '../../../src/core/runs/index.js';

const GB = 1024 ** 3;

export function service(over: Partial<ServiceInput> = {}): ServiceInput {
  return {
    type: 'service',
    port: { local_port: 80, container_port: 8000 },
    replicas: { min: 1, max: 1 },
    auth: true,
    strip_prefix: true,
    rate_limits: [],
    privileged: false,
    commands: ['python3 -m http.server'],
    env: {},
    resources: { cpu: { count: { min: 2 } }, memory: { min: 8 * GB }, gpu: { count: { min: 0 } }, disk: { size: { min: 100 * GB } } },
    volumes: [],
    retry: false,
    max_duration: 'off',
    stop_duration: 300,
    creation_policy: 'reuse-or-create',
    spot_policy: 'on-demand',
    ...over,
  };
}
