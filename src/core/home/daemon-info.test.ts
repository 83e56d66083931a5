import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readDaemonInfo, writeDaemonInfo } from './daemon-info.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dstack-daemon-info-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('daemon.json', () => {
  it('reads back what the daemon writes, 0600, with no temp file left beside it', async () => {
    const file = join(dir, 'server', 'daemon.json');
    const info = { pid: 4242, port: 3001, host: '::', startedAt: 1_700_000_000_000, version: '0.1.0' };
    await writeDaemonInfo(file, info);
    expect(await readDaemonInfo(file)).toEqual(info);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(dir, 'server'))).toEqual(['daemon.json']);
  });

  it('accepts a file with only pid and port (host defaults to 127.0.0.1)', async () => {
    const file = join(dir, 'daemon.json');
    await writeFile(file, JSON.stringify({ pid: 7, port: 3000 }));
    expect(await readDaemonInfo(file)).toEqual({ pid: 7, port: 3000, host: '127.0.0.1' });
  });

  it.each([
    ['missing', undefined],
    ['not JSON', '{"pid": 7, "port":'],
    ['port 0', JSON.stringify({ pid: 7, port: 0 })],
    ['no pid', JSON.stringify({ port: 3000 })],
  ])('is undefined when %s', async (_what, text) => {
    const file = join(dir, 'daemon.json');
    if (text !== undefined) await writeFile(file, text);
    expect(await readDaemonInfo(file)).toBeUndefined();
  });

  it('refuses to write a record that readers would reject', async () => {
    await expect(writeDaemonInfo(join(dir, 'daemon.json'), { pid: 7, port: 0, host: '127.0.0.1' })).rejects.toThrow();
  });
});
