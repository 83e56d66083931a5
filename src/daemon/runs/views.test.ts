import { describe, expect, it } from 'vitest';
import type { InstanceRecord } from '../../core/state/schema.js';
import { replicaResources } from './views.js';

const gpu = (i: number) => ({ vendor: 'nvidia' as const, name: 'H100', memoryMiB: 81559, id: `GPU-${i}`, index: i });
const instance = (over: Partial<InstanceRecord> = {}): InstanceRecord => ({
  name: 'fl-0',
  fleet: 'fl',
  backend: 'ssh',
  status: 'idle',
  unreachable: false,
  createdAt: 0,
  blocks: 4,
  host: {
    hostname: 'h',
    arch: 'x86_64',
    cpus: 32,
    memoryBytes: 256 * 2 ** 30,
    diskFreeBytes: 0,
    diskTotalBytes: 2000 * 2 ** 30,
    gpus: [0, 1, 2, 3, 4, 5, 6, 7].map(gpu),
    addresses: [],
    runtime: 'docker',
    docker: { available: true },
  },
  ...over,
});

describe('replicaResources (dstack ps -v)', () => {
  it('a replica holds its blocks\' share of the host and exactly its GPUs', () => {
    const r = replicaResources({ instance: 'fl-0', blocks: 1, gpuIds: ['GPU-2', 'GPU-3'] }, [instance()]);
    expect(r).toEqual({
      cpus: 8,
      memoryBytes: 64 * 2 ** 30,
      diskBytes: 500 * 2 ** 30,
      gpus: [
        { name: 'H100', memoryMiB: 81559, vendor: 'nvidia' },
        { name: 'H100', memoryMiB: 81559, vendor: 'nvidia' },
      ],
      arch: 'x86_64',
    });
  });

  it('a host that is not split gives the whole host; no instance or no host info gives nothing', () => {
    const whole = replicaResources({ instance: 'fl-0' }, [instance({ blocks: undefined })]);
    expect([whole?.cpus, whole?.gpus.length]).toEqual([32, 8]);
    expect(replicaResources({ instance: 'local' }, [instance()])).toBeUndefined();
    expect(replicaResources({ instance: 'fl-0' }, [instance({ host: undefined })])).toBeUndefined();
    expect(replicaResources({}, [instance()])).toBeUndefined();
  });
});
