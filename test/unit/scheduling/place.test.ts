// placeReplica: spread over hosts, blocks, GPU devices, limits, filters, availability and deterministic ties.
import { describe, expect, test } from 'vitest';
import { placeReplica } from '../../../src/core/scheduling/index.js';
import { GiB, allocation, gpus, host, placeMany, request } from './fixtures.js';

const instanceOf = (p: ReturnType<typeof placeReplica>) => (p.ok ? p.instance : p.reason);

describe('placeReplica: spread', () => {
  test('3 replicas over 3 whole hosts land on 3 hosts', () => {
    const hosts = [host('my-fleet-0'), host('my-fleet-1'), host('my-fleet-2')];
    expect(placeMany(request(), hosts, 3).map(instanceOf)).toEqual(['my-fleet-0', 'my-fleet-1', 'my-fleet-2']);
  });

  test('on split hosts a run still spreads before it stacks', () => {
    const hosts = [host('a', { blocks: 4 }), host('b', { blocks: 4 }), host('c', { blocks: 4 })];
    expect(placeMany(request(), hosts, 5).map(instanceOf)).toEqual(['a', 'b', 'c', 'a', 'b']);
  });

  test('fewest replicas of the same run wins over the most free blocks', () => {
    const hosts = [host('a', { blocks: 4 }), host('b', { blocks: 4 })];
    const live = [allocation('a', 2), allocation('b', 1, { runName: 'svc' })];
    expect(instanceOf(placeReplica(request(), hosts, live))).toBe('a');
  });

  test('then the least loaded host', () => {
    const hosts = [host('a', { blocks: 4 }), host('b', { blocks: 4 })];
    expect(instanceOf(placeReplica(request(), hosts, [allocation('a', 1)]))).toBe('b');
  });

  test('equal hosts are taken in natural name order (h-2 before h-10), whatever order they come in', () => {
    const hosts = [host('h-2'), host('h-10'), host('h-1')];
    expect(instanceOf(placeReplica(request(), hosts, []))).toBe('h-1');
    expect(instanceOf(placeReplica(request(), [...hosts].reverse(), []))).toBe('h-1');
    expect(instanceOf(placeReplica(request(), hosts.slice(0, 2), []))).toBe('h-2');
  });

  test('unavailable hosts take nothing; the replica goes to the available one', () => {
    const hosts = [host('a', { available: false }), host('b')];
    expect(instanceOf(placeReplica(request(), hosts, []))).toBe('b');
  });
});

describe('placeReplica: blocks and limits', () => {
  test('a whole host gets no limits', () => {
    expect(placeReplica(request({ cpu: '2..4' }), [host('a')], [])).toEqual({ ok: true, instance: 'a', blocks: 1 });
  });

  test('a share takes the fewest blocks covering the minimums and is limited to them', () => {
    const hosts = [host('a', { blocks: 4 })];
    expect(placeReplica(request(), hosts, [])).toEqual({ ok: true, instance: 'a', blocks: 1, cpuLimit: 4, memoryLimitBytes: 16 * GiB });
    expect(placeReplica(request({ cpu: '5..' }), hosts, [])).toMatchObject({ blocks: 2, cpuLimit: 8, memoryLimitBytes: 32 * GiB });
    expect(placeReplica(request({ memory: '40GB..' }), hosts, [])).toMatchObject({ blocks: 3, cpuLimit: 12, memoryLimitBytes: 48 * GiB });
    expect(placeReplica(request({ cpu: 5 }), hosts, [])).toMatchObject({ blocks: 2, cpuLimit: 5 });
  });

  test('max caps the limits of a share and never refuses a bigger host', () => {
    expect(placeReplica(request({ cpu: '2..3', memory: '8GB..10GB' }), [host('a', { blocks: 4 })], []))
      .toMatchObject({ blocks: 1, cpuLimit: 3, memoryLimitBytes: 10 * GiB });
    expect(placeReplica(request({ cpu: '1..2', memory: '1GB..2GB' }), [host('big', { cpus: 64, memoryBytes: 512 * GiB })], []))
      .toEqual({ ok: true, instance: 'big', blocks: 1 });
  });

  test('taking every block of a split host is a whole host: no limits', () => {
    expect(placeReplica(request({ cpu: 16 }), [host('a', { blocks: 4 })], [])).toEqual({ ok: true, instance: 'a', blocks: 4 });
  });

  test('free blocks are what allocations leave; a host without enough is skipped', () => {
    const hosts = [host('a', { blocks: 4 }), host('b', { blocks: 4 })];
    const live = [allocation('a', 3), allocation('b', 2)];
    expect(placeReplica(request({ cpu: 8 }), hosts, live)).toMatchObject({ instance: 'b', blocks: 2 });
  });

  test('memory within 5% of the request fits (hosts report a little less than nominal)', () => {
    expect(placeReplica(request({ memory: '8GB' }), [host('a', { memoryBytes: 7.7 * GiB })], [])).toMatchObject({ ok: true });
    expect(placeReplica(request({ memory: '8GB' }), [host('a', { memoryBytes: 7.5 * GiB })], [])).toMatchObject({ ok: false });
  });
});

describe('placeReplica: GPUs', () => {
  test('an 8-GPU box split by GPU is shared by 4 replicas of gpu:2 with disjoint devices, lowest index first', () => {
    const box = host('gpus-0', { cpus: 64, memoryBytes: 1024 * GiB, gpus: gpus(8), blocks: 8 });
    const placed = placeMany(request({ gpu: 'A100:2' }), [box], 4);
    expect(placed.map((p) => (p.ok ? p.gpus : undefined))).toEqual([
      { vendor: 'nvidia', ids: ['GPU-0', 'GPU-1'] },
      { vendor: 'nvidia', ids: ['GPU-2', 'GPU-3'] },
      { vendor: 'nvidia', ids: ['GPU-4', 'GPU-5'] },
      { vendor: 'nvidia', ids: ['GPU-6', 'GPU-7'] },
    ]);
    expect(placed.every((p) => p.ok && p.blocks === 2 && p.cpuLimit === 16 && p.memoryLimitBytes === 256 * GiB)).toBe(true);
  });

  test('the replica gets the minimum count its spec allows, not the whole range', () => {
    const box = host('g', { gpus: gpus(4), blocks: 4 });
    expect(placeReplica(request({ gpu: 'A100:1..4' }), [box], [])).toMatchObject({ blocks: 1, gpus: { ids: ['GPU-0'] } });
    expect(placeReplica(request({ gpu: 'A100' }), [box], [])).toMatchObject({ gpus: { ids: ['GPU-0'] } });
  });

  test('devices held by live replicas are not given again, even out of index order', () => {
    const box = host('g', { gpus: gpus(4), blocks: 4 });
    const live = [allocation('g', 1, { gpuIds: ['GPU-0'] }), allocation('g', 1, { gpuIds: ['GPU-2'] })];
    expect(placeReplica(request({ gpu: 2 }), [box], live)).toMatchObject({ gpus: { ids: ['GPU-1', 'GPU-3'] } });
  });

  test('lowest index first even when the agent lists GPUs in another order', () => {
    const box = host('g', { gpus: gpus(4).reverse(), blocks: 4 });
    expect(placeReplica(request({ gpu: 2 }), [box], [])).toMatchObject({ gpus: { ids: ['GPU-0', 'GPU-1'] } });
  });

  test('per-GPU memory, names (word match, not substring) and the other host', () => {
    const small = host('small', { gpus: gpus(2, { name: 'NVIDIA A10', memoryMiB: 24_576, prefix: 'S' }) });
    const big = host('big', { gpus: gpus(2, { prefix: 'B' }) });
    expect(instanceOf(placeReplica(request({ gpu: '80GB' }), [small, big], []))).toBe('big');
    expect(instanceOf(placeReplica(request({ gpu: 'A10' }), [big, small], []))).toBe('small');
    expect(instanceOf(placeReplica(request({ gpu: 'a100' }), [small, big], []))).toBe('big');
    const rtx = host('rtx', { gpus: gpus(1, { name: 'NVIDIA GeForce RTX 4090', memoryMiB: 24_564 }) });
    expect(instanceOf(placeReplica(request({ gpu: 'RTX4090' }), [rtx], []))).toBe('rtx');
    expect(instanceOf(placeReplica(request({ gpu: { name: 'NVIDIA A100-SXM4-80GB' } }), [small, big], []))).toBe('big');
  });

  test('compute capability: at least the requested one; unknown does not match', () => {
    const old = host('old', { gpus: gpus(1, { computeCapability: '7.5', prefix: 'T' }) });
    const ampere = host('ampere', { gpus: gpus(1, { computeCapability: '8.6', prefix: 'A' }) });
    const unknown = host('unknown', { gpus: gpus(1, { prefix: 'U' }) });
    expect(instanceOf(placeReplica(request({ gpu: { count: 1, compute_capability: '8.0' } }), [old, unknown, ampere], []))).toBe('ampere');
    expect(instanceOf(placeReplica(request({ gpu: { count: 1, compute_capability: 7.5 } }), [old], []))).toBe('old');
    const hopper = host('hopper', { gpus: gpus(1, { computeCapability: '9.0', prefix: 'H' }) });
    expect(instanceOf(placeReplica(request({ gpu: { count: 1, compute_capability: '8.6' } }), [old, hopper], []))).toBe('hopper');
    expect(placeReplica(request({ gpu: { count: 1, compute_capability: '10.0' } }), [old, ampere], [])).toEqual({
      ok: false, reason: 'no host has 1 GPU with compute capability 10.0+',
    });
  });

  test('AMD: vendor and name select MI300X devices by render node', () => {
    const nv = host('nv', { gpus: gpus(8) });
    const amd = host('amd', { gpus: gpus(8, { vendor: 'amd', name: 'AMD Instinct MI300X', memoryMiB: 196_608 }), blocks: 8 });
    expect(placeReplica(request({ gpu: 'amd:2' }), [nv, amd], [])).toMatchObject({
      instance: 'amd', blocks: 2, gpus: { vendor: 'amd', ids: ['/dev/dri/renderD128', '/dev/dri/renderD129'] },
    });
    expect(placeReplica(request({ gpu: 'MI300X:192GB:1' }), [nv, amd], [])).toMatchObject({ instance: 'amd', gpus: { ids: ['/dev/dri/renderD128'] } });
  });

  test('a request without GPUs gets no devices on a GPU host', () => {
    expect(placeReplica(request(), [host('g', { gpus: gpus(2) })], [])).toEqual({ ok: true, instance: 'g', blocks: 1 });
  });
});

describe('placeReplica: filters', () => {
  const hosts = [
    host('cpu-0', { fleet: 'cpus' }),
    host('gpu-0', { fleet: 'gpus', gpus: gpus(1) }),
    host('aws-0', { fleet: 'cloud', backend: 'aws', instanceType: 'g5.xlarge' }),
  ];

  test('fleets, backends (dstack `remote` = ssh) and instance types narrow the candidates', () => {
    expect(instanceOf(placeReplica(request({}, { fleets: ['gpus'] }), hosts, []))).toBe('gpu-0');
    expect(instanceOf(placeReplica(request({}, { fleets: ['main/gpus'] }), hosts, []))).toBe('gpu-0');
    expect(instanceOf(placeReplica(request({}, { backends: ['aws'] }), hosts, []))).toBe('aws-0');
    expect(instanceOf(placeReplica(request({}, { backends: ['remote'] }), hosts, []))).toBe('cpu-0');
    expect(instanceOf(placeReplica(request({}, { instance_types: ['g5.xlarge'] }), hosts, []))).toBe('aws-0');
  });

  test('a filter that leaves nothing is named', () => {
    expect(placeReplica(request({}, { fleets: ['tpus'] }), hosts, [])).toEqual({ ok: false, reason: 'no instance in fleet `tpus`' });
    expect(placeReplica(request({}, { fleets: ['a', 'b'] }), hosts, [])).toEqual({ ok: false, reason: 'no instance in fleets `a`, `b`' });
    expect(placeReplica(request({}, { fleets: ['cpus'], backends: ['gcp'] }), hosts, [])).toEqual({ ok: false, reason: 'no instance with backend `gcp`' });
    expect(placeReplica(request({}, { instance_types: ['p5.48xlarge'] }), hosts, [])).toEqual({ ok: false, reason: 'no instance of type `p5.48xlarge`' });
  });
});

describe('placementRequest', () => {
  test('carries requirements, compute capability and the filters from the configuration', () => {
    expect(request({ cpu: '4..8', gpu: { name: 'H100', count: 2, compute_capability: '9.0' } }, { fleets: ['gpus'], backends: ['ssh'], instance_types: ['x'] }))
      .toEqual({
        runName: 'svc',
        requirements: {
          cpu: { min: 4, max: 8 }, memoryBytes: { min: 8 * GiB }, diskBytes: { min: 100 * GiB },
          gpu: { count: { min: 2, max: 2 }, names: ['H100'], vendor: 'nvidia', computeCapability: '9.0' },
        },
        fleets: ['gpus'], backends: ['ssh'], instanceTypes: ['x'],
      });
  });
});
