// The resources grammar, durations, sizes, ranges and env forms, against dstack's documented examples.
import { describe, expect, test } from 'vitest';
import { formatDuration, formatResources } from '../../../src/core/config/format.js';
import { EnvSchema, GpuSchema, ResourcesSchema, parseDuration, parseGpuString, parseMemory, parseRange } from '../../../src/core/model/index.js';
import { Duration, DurationOrOff, parseCount } from '../../../src/core/model/units.js';

const GB = 1024 ** 3;
const ok = <T>(r: { success: boolean; data?: T; error?: { issues: { message: string }[] } }) => {
  if (!r.success) throw new Error(r.error?.issues.map((i) => i.message).join('; '));
  return r.data as T;
};
const messages = (r: { success: boolean; error?: { issues: { message: string; path: PropertyKey[] }[] } }) =>
  r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

describe('durations', () => {
  test.each([[30, 30], ['30s', 30], ['5m', 300], ['1h', 3600], ['3d', 259_200], ['2w', 1_209_600], ['10 m', 600], ['90', 90]])('%s → %i s', (v, s) => {
    expect(parseDuration(v)).toEqual({ ok: true, value: s });
  });
  test.each(['5x', '1h30m', '-1', 1.5, '', 'off'])('%s is rejected', (v) => expect(parseDuration(v).ok).toBe(false));
  test('off / false mean unlimited where allowed', () => {
    expect(ok(DurationOrOff.safeParse('off'))).toBe('off');
    expect(ok(DurationOrOff.safeParse(false))).toBe('off');
    expect(messages(Duration.safeParse('off'))[0]).toMatch(/invalid duration `off`/);
  });
  test('formatDuration', () => {
    expect([300, 3600, 259_200, 90, 0, 604_800, 'off' as const].map(formatDuration)).toEqual(['5m', '1h', '3d', '90s', '0s', '1w', 'off']);
  });
});

describe('sizes and ranges', () => {
  test('memory units (number = GB, 1TB = 1024GB)', () => {
    expect([8, '8GB', '8gb', '512MB', '1TB', '0.5GB', '16 GB'].map((v) => parseMemory(v))).toEqual(
      [8 * GB, 8 * GB, 8 * GB, 512 * 1024 ** 2, 1024 * GB, GB / 2, 16 * GB].map((value) => ({ ok: true, value })),
    );
  });
  test('range forms', () => {
    const r = (v: unknown) => parseRange(v, parseMemory, 'size');
    expect(r('24GB..')).toEqual({ ok: true, value: { min: 24 * GB } });
    expect(r('24GB..80GB')).toEqual({ ok: true, value: { min: 24 * GB, max: 80 * GB } });
    expect(r('..80GB')).toEqual({ ok: true, value: { min: 0, max: 80 * GB } });
    expect(r(' 24GB .. 80GB ')).toEqual({ ok: true, value: { min: 24 * GB, max: 80 * GB } });
    expect(r('24GB')).toEqual({ ok: true, value: { min: 24 * GB, max: 24 * GB } });
    expect(r({ min: '1GB' })).toEqual({ ok: true, value: { min: GB } });
    expect(r('..')).toEqual({ ok: false, message: 'invalid range `..`; expected `min..max`, `min..` or `..max`' });
    expect(r('80GB..24GB')).toEqual({ ok: false, message: 'invalid size range: the minimum is greater than the maximum' });
    expect(parseRange('1..2..3', parseCount, 'count').ok).toBe(false);
  });
});

describe('resources', () => {
  const res = (v: unknown) => ok(ResourcesSchema.safeParse(v));
  test('defaults: cpu=2.. mem=8GB.. disk=100GB.. gpu=0..', () => {
    expect(formatResources(res(undefined))).toBe('cpu=2.. mem=8GB.. disk=100GB.. gpu=0..');
    expect(formatResources(res({}))).toBe('cpu=2.. mem=8GB.. disk=100GB.. gpu=0..');
  });
  test('cpu forms', () => {
    expect(res({ cpu: 4 }).cpu).toEqual({ count: { min: 4, max: 4 } });
    expect(res({ cpu: '2..8' }).cpu).toEqual({ count: { min: 2, max: 8 } });
    expect(res({ cpu: 'x86:16' }).cpu).toEqual({ arch: 'x86', count: { min: 16, max: 16 } });
    expect(res({ cpu: 'arm:8..' }).cpu).toEqual({ arch: 'arm', count: { min: 8 } });
    expect(res({ cpu: { arch: 'arm', count: '4..' } }).cpu).toEqual({ arch: 'arm', count: { min: 4 } });
    expect(formatResources(res({ cpu: 'arm:8..' }))).toBe('cpu=arm:8.. mem=8GB.. disk=100GB.. gpu=0..');
  });
  test('memory, disk and shm_size', () => {
    const r = res({ memory: '24GB..80GB', disk: { size: '200GB..' }, shm_size: '16GB' });
    expect(r.memory).toEqual({ min: 24 * GB, max: 80 * GB });
    expect(r.disk).toEqual({ size: { min: 200 * GB } });
    expect(r.shm_size).toBe(16 * GB);
    expect(formatResources(r)).toBe('cpu=2.. mem=24GB..80GB shm=16GB disk=200GB.. gpu=0..');
  });
  test.each([
    ['nvidia', { vendor: 'nvidia', count: { min: 1 } }],
    ['A100', { name: ['A100'], vendor: 'nvidia', count: { min: 1 } }],
    ['A10G,A100', { name: ['A10G', 'A100'], vendor: 'nvidia', count: { min: 1 } }],
    ['A100:80GB', { name: ['A100'], vendor: 'nvidia', memory: { min: 80 * GB, max: 80 * GB }, count: { min: 1 } }],
    ['A100:2', { name: ['A100'], vendor: 'nvidia', count: { min: 2, max: 2 } }],
    ['24GB..40GB:2', { memory: { min: 24 * GB, max: 40 * GB }, count: { min: 2, max: 2 } }],
    ['A100:40GB:2', { name: ['A100'], vendor: 'nvidia', memory: { min: 40 * GB, max: 40 * GB }, count: { min: 2, max: 2 } }],
    ['2:40GB:A100', { name: ['A100'], vendor: 'nvidia', memory: { min: 40 * GB, max: 40 * GB }, count: { min: 2, max: 2 } }],
    ['H100,A100:1..2', { name: ['H100', 'A100'], vendor: 'nvidia', count: { min: 1, max: 2 } }],
    ['amd:MI300X:8', { vendor: 'amd', name: ['MI300X'], count: { min: 8, max: 8 } }],
    ['MI300X', { name: ['MI300X'], vendor: 'amd', count: { min: 1 } }],
    ['tpu:v5litepod-8', { vendor: 'google', name: ['v5litepod-8'], count: { min: 1 } }],
    ['24GB', { memory: { min: 24 * GB, max: 24 * GB }, count: { min: 1 } }],
  ])('gpu %s', (spec, expected) => expect(parseGpuString(spec)).toEqual({ ok: true, value: expected }));
  test('gpu number and object forms', () => {
    expect(ok(GpuSchema.safeParse(0))).toEqual({ count: { min: 0, max: 0 } });
    expect(ok(GpuSchema.safeParse(2))).toEqual({ count: { min: 2, max: 2 } });
    expect(ok(GpuSchema.safeParse({ name: ['H100', 'A100'], memory: '40GB..', total_memory: '160GB..', compute_capability: 8.0 }))).toEqual({
      name: ['H100', 'A100'], vendor: 'nvidia', count: { min: 1 }, memory: { min: 40 * GB }, total_memory: { min: 160 * GB }, compute_capability: '8.0',
    });
    expect(ok(GpuSchema.safeParse({ vendor: 'tpu', count: '4..8' }))).toEqual({ vendor: 'google', count: { min: 4, max: 8 } });
  });
  test('gpu errors', () => {
    expect(parseGpuString('A100:H100')).toEqual({ ok: false, message: 'invalid GPU spec `A100:H100`: name is given twice' });
    expect(parseGpuString('A100::2')).toEqual({ ok: false, message: 'invalid GPU spec `A100::2`: empty token' });
    expect(messages(GpuSchema.safeParse(true))).toEqual([': expected a GPU count, a spec like `A100:80GB:2`, or an object with `name`, `memory`, `count`']);
    expect(messages(GpuSchema.safeParse({ compute_capability: 'high' }))).toEqual(['compute_capability: expected a compute capability like `7.5`']);
  });
  test('pretty gpu forms', () => {
    const f = (gpu: unknown) => formatResources(res({ gpu }));
    expect(f('A100:80GB:2')).toBe('cpu=2.. mem=8GB.. disk=100GB.. gpu=A100:80GB:2');
    expect(f('24GB')).toBe('cpu=2.. mem=8GB.. disk=100GB.. gpu=24GB:1..');
    expect(f(0)).toBe('cpu=2.. mem=8GB.. disk=100GB.. gpu=0');
    expect(f('nvidia:2')).toBe('cpu=2.. mem=8GB.. disk=100GB.. gpu=nvidia:2');
    expect(f('H100,A100:40GB..:1..2')).toBe('cpu=2.. mem=8GB.. disk=100GB.. gpu=H100,A100:40GB..:1..2');
  });
});

describe('env forms', () => {
  const env = (v: unknown) => ok(EnvSchema.safeParse(v));
  test('list: KEY=VALUE, KEY= and bare KEY (required)', () => {
    expect(env(['A=1', 'B=', 'HF_TOKEN', 'C=x=y'])).toEqual({ A: '1', B: '', HF_TOKEN: { required: true }, C: 'x=y' });
  });
  test('map: numbers coerced to strings', () => expect(env({ PORT: 8080, RATIO: 0.5, NAME: 'x' })).toEqual({ PORT: '8080', RATIO: '0.5', NAME: 'x' }));
  test('omitted → {}', () => expect(env(undefined)).toEqual({}));
  test('errors', () => {
    expect(messages(EnvSchema.safeParse({ A: null }))).toEqual(['A: expected a string value for `A`; give a value or use the list form `- KEY` for a required variable']);
    expect(messages(EnvSchema.safeParse(['A=1', 'A=2']))).toEqual(['1: duplicate environment variable `A`']);
    expect(messages(EnvSchema.safeParse([42]))).toEqual(['0: expected `KEY=VALUE`, `KEY=` or `KEY` (a string)']);
    expect(messages(EnvSchema.safeParse('A=1'))).toEqual([': expected a list of `KEY=VALUE` or a map of names to values']);
  });
});
