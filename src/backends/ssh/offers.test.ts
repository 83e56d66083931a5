import { describe, expect, it } from 'vitest';
import type { SshTarget } from '../../core/fleets/types.js';
import type { HostInfo } from '../../core/model/agent-api.js';
import { ANY_REQUIREMENTS } from '../../core/runs/requirements.js';
import { sshOffer } from './offers.js';

const target: SshTarget = { instance: 'gpus-1', fleet: 'gpus', hostname: '10.0.0.2', port: 22, user: 'ubuntu', identityFile: '/k', blocks: 1 };
const host: HostInfo = {
  hostname: 'box',
  arch: 'x86_64',
  cpus: 8,
  memoryBytes: 32 * 2 ** 30,
  diskFreeBytes: 100e9,
  diskTotalBytes: 200e9,
  gpus: [{ vendor: 'nvidia', name: 'NVIDIA L4', memoryMiB: 23034, id: 'GPU-1', index: 0 }],
  addresses: ['10.0.0.2'],
  runtime: 'docker',
  docker: { available: true, version: '27.0.1' },
};

describe('sshOffer', () => {
  it('describes the host as backend ssh, region = fleet, price 0, idle without replicas', () => {
    expect(sshOffer(target, { host, reachable: true, liveReplicas: 0 }, ANY_REQUIREMENTS)).toEqual({
      backend: 'ssh',
      region: 'gpus',
      instanceType: 'ssh',
      resources: { cpus: 8, memoryBytes: 32 * 2 ** 30, diskBytes: 200e9, gpus: [{ name: 'NVIDIA L4', memoryMiB: 23034, vendor: 'nvidia' }], arch: 'x86_64' },
      spot: false,
      price: 0,
      availability: 'idle',
      runtime: 'docker',
      fleet: 'gpus',
      instance: 'gpus-1',
    });
  });

  it('is busy with a live replica, not available when unreachable or short of what is required', () => {
    expect(sshOffer(target, { host, reachable: true, liveReplicas: 1 }, ANY_REQUIREMENTS).availability).toBe('busy');
    expect(sshOffer(target, { host, reachable: false, liveReplicas: 0 }, ANY_REQUIREMENTS).availability).toBe('not available');
    const twoGpus = { ...ANY_REQUIREMENTS, gpu: { count: { min: 2 } } };
    expect(sshOffer(target, { host, reachable: true, liveReplicas: 0 }, twoGpus).availability).toBe('not available');
  });
});
