// Why nothing fits: one sentence naming what is missing, the most fundamental shortfall first.
import { describe, expect, test } from 'vitest';
import { placeReplica } from '../../../src/core/scheduling/index.js';
import { GiB, allocation, gpus, host, placeMany, request } from './fixtures.js';

const reason = (...args: Parameters<typeof placeReplica>) => {
  const p = placeReplica(...args);
  return p.ok ? `placed on ${p.instance}` : p.reason;
};

describe('no fit: nothing to run on', () => {
  test('no instances at all', () => {
    expect(reason(request(), [], [])).toBe('there are no instances: create a fleet with `dstack apply -f <fleet>.dstack.yml`');
  });

  test('unavailable hosts', () => {
    expect(reason(request(), [host('a', { available: false })], [])).toBe('host `a` is unavailable (unreachable or not ready)');
    const three = ['a', 'b', 'c'].map((n) => host(n, { available: false }));
    expect(reason(request(), three, [])).toBe('all 3 hosts are unavailable (unreachable or not ready)');
  });

  test('busy hosts', () => {
    expect(reason(request(), [host('a')], [allocation('a', 1)])).toBe('host `a` is busy');
    expect(reason(request(), [host('a'), host('b', { blocks: 2 })], [allocation('a', 1), allocation('b', 2)])).toBe('all 2 hosts are busy');
    const box = host('gpus-0', { cpus: 64, memoryBytes: 1024 * GiB, gpus: gpus(8), blocks: 8 });
    const fifth = placeMany(request({ gpu: 'A100:2' }), [box], 5)[4];
    expect(fifth).toEqual({ ok: false, reason: 'host `gpus-0` is busy' });
  });
});

describe('no fit: the hardware is not there', () => {
  test('GPUs: model, memory and count', () => {
    expect(reason(request({ gpu: 'A100:80GB:2' }), [host('g-0', { gpus: gpus(1) }), host('cpu-0')], [])).toBe('no host has 2 A100 GPUs of 80GB (most: 1 on g-0)');
    const amd = host('amd', { gpus: gpus(8, { vendor: 'amd', name: 'AMD Instinct MI300X', memoryMiB: 196_608 }) });
    expect(reason(request({ gpu: 'A100' }), [amd], [])).toBe('no host has 1 A100 GPU');
    expect(reason(request({ gpu: 'amd:1' }), [host('nv', { gpus: gpus(2) })], [])).toBe('no host has 1 AMD GPU');
  });

  test('memory, CPUs and disk, with the largest there is', () => {
    const hosts = [host('a'), host('b', { cpus: 8, memoryBytes: 31.2 * GiB, diskBytes: 200 * GiB })];
    expect(reason(request({ memory: '128GB' }), hosts, [])).toBe('no host has 128GB of memory (largest: 64GB on a)');
    expect(reason(request({ cpu: 32 }), hosts, [])).toBe('no host has 32 CPUs (most: 16 on a)');
    expect(reason(request({ disk: '1TB' }), hosts, [])).toBe('no host has 1024GB of disk (largest: 500GB on a)');
  });

  test('the hardware shortfall is named even when hosts are busy too', () => {
    expect(reason(request({ gpu: 1 }), [host('a')], [allocation('a', 1)])).toBe('no host has 1 GPU');
  });
});

describe('no fit: not free now', () => {
  test('memory', () => {
    const hosts = [host('my-fleet-0', { memoryBytes: 62.4 * GiB, blocks: 4 }), host('my-fleet-1', { memoryBytes: 62.4 * GiB, blocks: 2 })];
    const live = [allocation('my-fleet-0', 3), allocation('my-fleet-1', 1)];
    expect(reason(request({ cpu: 1, memory: '64GB' }), hosts, live)).toBe('no host has 64GB of free memory (largest free: 31.2GB on my-fleet-1)');
  });

  test('GPUs held by other replicas', () => {
    const box = host('gpus-0', { gpus: gpus(4), blocks: 4 });
    const live = [0, 1, 2].map((i) => allocation('gpus-0', 1, { gpuIds: [`GPU-${i}`] }));
    expect(reason(request({ gpu: '80GB:2' }), [box], live)).toBe('no host has 2 free GPUs of 80GB (most free: 1 on gpus-0)');
  });

  test('GPUs idle but their blocks taken by CPU-only replicas', () => {
    const box = host('g', { cpus: 64, memoryBytes: 512 * GiB, gpus: gpus(8), blocks: 8 });
    expect(reason(request({ gpu: 2 }), [box], [allocation('g', 7)])).toBe('no host has 2 free GPUs (most free: 1 on g)');
  });

  test('CPUs', () => {
    expect(reason(request({ cpu: '8..' }), [host('a', { blocks: 4 })], [allocation('a', 3)])).toBe('no host has 8 free CPUs (most free: 4 on a)');
  });

  test('each resource free somewhere, not on one host', () => {
    const hosts = [host('many-cpus', { cpus: 32, memoryBytes: 16 * GiB }), host('much-memory', { cpus: 4, memoryBytes: 128 * GiB })];
    expect(reason(request({ cpu: 8, memory: '64GB' }), hosts, [])).toBe('no single host has 64GB of memory and 8 CPUs free');
  });
});
