// offersFor: one offer per instance, idle / busy / not available, the share a replica would get, stable order.
import { describe, expect, test } from 'vitest';
import { offersFor } from '../../../src/core/scheduling/index.js';
import { GiB, allocation, gpus, host, request } from './fixtures.js';

const summary = (o: ReturnType<typeof offersFor>[number]) => `${o.instance}: ${o.availability}`;

describe('offersFor', () => {
  test('idle, busy with room left, and not available (full, too small, unavailable), in that order', () => {
    const instances = [
      host('z-full', { blocks: 2 }),
      host('y-small', { cpus: 1 }),
      host('x-down', { available: false }),
      host('w-busy', { blocks: 4 }),
      host('v-idle'),
    ];
    const live = [allocation('z-full', 2), allocation('w-busy', 1)];
    expect(offersFor(request().requirements, instances, live).map(summary)).toEqual([
      'v-idle: idle', 'w-busy: busy', 'x-down: not available', 'y-small: not available', 'z-full: not available',
    ]);
  });

  test('busy offers with more free blocks come first', () => {
    const instances = [host('a', { blocks: 4 }), host('b', { blocks: 4 })];
    const live = [allocation('a', 2), allocation('b', 1)];
    expect(offersFor(request().requirements, instances, live).map(summary)).toEqual(['b: busy', 'a: busy']);
  });

  test('an SSH host: backend ssh, region remote, type instance, price 0, fleet and instance named', () => {
    const [offer] = offersFor(request({ gpu: 2 }).requirements, [host('my-fleet-0', { gpus: gpus(3) })], []);
    expect(offer).toEqual({
      backend: 'ssh', region: 'remote', instanceType: 'instance', spot: false, price: 0, availability: 'idle', fleet: 'my-fleet', instance: 'my-fleet-0',
      resources: { cpus: 16, memoryBytes: 64 * GiB, diskBytes: 500 * GiB, gpus: [{ name: 'NVIDIA A100-SXM4-80GB', memoryMiB: 81_920, vendor: 'nvidia' }, { name: 'NVIDIA A100-SXM4-80GB', memoryMiB: 81_920, vendor: 'nvidia' }] },
    });
  });

  test('on a split host the offer shows the share and the GPUs the replica would get', () => {
    const box = host('g', { cpus: 64, memoryBytes: 512 * GiB, gpus: gpus(8), blocks: 8 });
    const [offer] = offersFor(request({ gpu: 'A100:2' }).requirements, [box], [allocation('g', 2, { gpuIds: ['GPU-0', 'GPU-1'] })]);
    expect(offer?.availability).toBe('busy');
    expect(offer?.resources).toMatchObject({ cpus: 16, memoryBytes: 128 * GiB, diskBytes: 500 * GiB });
    expect(offer?.resources.gpus).toHaveLength(2);
  });

  test('a whole host shows only the GPUs the replica gets', () => {
    const [offer] = offersFor(request({ gpu: 'A100:1..' }).requirements, [host('g', { gpus: gpus(4) })], []);
    expect(offer?.resources).toMatchObject({ cpus: 16, memoryBytes: 64 * GiB, gpus: [{ name: 'NVIDIA A100-SXM4-80GB' }] });
  });

  test('a request it cannot meet shows the whole instance as not available', () => {
    const [offer] = offersFor(request({ gpu: 'H100:8' }).requirements, [host('a', { gpus: gpus(2), region: 'eu-west-1', backend: 'aws', instanceType: 'p4d' })], []);
    expect(offer).toMatchObject({ backend: 'aws', region: 'eu-west-1', instanceType: 'p4d', availability: 'not available', resources: { cpus: 16 } });
    expect(offer?.resources.gpus).toHaveLength(2);
  });

  test('the local machine keeps its local names', () => {
    const [offer] = offersFor(request().requirements, [host('local', { backend: 'local' })], []);
    expect(offer).toMatchObject({ backend: 'local', region: 'local', instanceType: 'local', instance: 'local' });
  });
});
