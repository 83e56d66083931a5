// The agent reports where a container answers on its host (for attach to reach unpublished ports), also after it
// adopted the container on a restart.
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { adoptedState, containerAddress } from '../../../src/agent/docker/container-state.js';
import { LABELS } from '../../../src/core/model/agent-constants.js';

const inspect = (network: Partial<Docker.ContainerInspectInfo['NetworkSettings']>) =>
  ({
    Id: 'c1',
    Created: '2025-01-01T00:00:00Z',
    Config: { Labels: { [LABELS.replicaId]: 'web-0-0', [LABELS.spec]: JSON.stringify({ port: 8000 }) } },
    State: { Running: true, StartedAt: '2025-01-01T00:00:01Z' },
    NetworkSettings: { Ports: { '8000/tcp': [{ HostIp: '127.0.0.1', HostPort: '32768' }] }, ...network },
  }) as unknown as Docker.ContainerInspectInfo;

describe('container address', () => {
  it('is the default bridge address, else the first network that has one', () => {
    expect(containerAddress(inspect({ IPAddress: '172.17.0.2' }))).toBe('172.17.0.2');
    expect(containerAddress(inspect({ IPAddress: '', Networks: { none: { IPAddress: '' }, custom: { IPAddress: '10.1.0.5' } } as never }))).toBe('10.1.0.5');
    expect(containerAddress(inspect({ IPAddress: '' }))).toBeUndefined();
  });

  it('comes back with an adopted running container, beside its published port', () => {
    expect(adoptedState(inspect({ IPAddress: '172.17.0.2' }), [])).toMatchObject({ id: 'web-0-0', phase: 'running', hostPort: 32768, address: '172.17.0.2' });
  });
});
