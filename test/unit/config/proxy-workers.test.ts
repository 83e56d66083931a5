/** `server.proxy_workers` and DSTACK_PROXY_WORKERS: which wins, `auto`, and what is refused. */
import { describe, expect, it } from 'vitest';
import { HomeConfig, defaultHomeConfig, proxyWorkerCount } from '../../../src/core/home/config-file.js';

describe('proxy worker count', () => {
  it('is 1 unless something asks for more', () => {
    expect(proxyWorkerCount(undefined, undefined, 8)).toBe(1);
    expect(proxyWorkerCount('', undefined, 8)).toBe(1);
  });

  it('takes the env over config.yml, and auto means the cores', () => {
    expect(proxyWorkerCount(undefined, 3, 8)).toBe(3);
    expect(proxyWorkerCount('2', 3, 8)).toBe(2);
    expect(proxyWorkerCount('auto', 3, 8)).toBe(8);
    expect(proxyWorkerCount(undefined, 'auto', 4)).toBe(4);
  });

  it('refuses what is not a whole number from 1 to 256', () => {
    for (const bad of ['0', '-1', '1.5', 'two', '1000']) expect(() => proxyWorkerCount(bad, undefined, 8)).toThrow(/DSTACK_PROXY_WORKERS/);
  });

  it('config.yml accepts proxy_workers as a number or auto, and keeps configs without it valid', () => {
    const base = defaultHomeConfig('u');
    expect(HomeConfig.parse(base).server.proxy_workers).toBeUndefined();
    expect(HomeConfig.parse({ ...base, server: { port: 3000, proxy_workers: 'auto' } }).server.proxy_workers).toBe('auto');
    expect(HomeConfig.parse({ ...base, server: { proxy_workers: 4 } }).server).toEqual({ host: '127.0.0.1', port: 3000, proxy_workers: 4 });
    expect(HomeConfig.safeParse({ ...base, server: { proxy_workers: 0 } }).success).toBe(false);
    expect(HomeConfig.safeParse({ ...base, server: { proxy_workers: 'many' } }).success).toBe(false);
  });
});
