/**
 * config.yml's JSON cache (issue 15: `dstack ps` without the YAML parser): a hit only for the very text it was made
 * from, corrupt caches ignored, mode 0600, and nothing written beside config.yml unless the caller asks for it.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { homeConfigCacheFile, loadOrCreateHomeConfig } from '../../../src/core/home/config-file.js';

const TOKEN_A = 'a'.repeat(32);
const TOKEN_B = 'b'.repeat(32);
const configYaml = (token: string, port = 3000) =>
  `version: 1\ndefault_project: main\nuser: admin\ntoken: ${token}\nserver:\n  host: 127.0.0.1\n  port: ${port}\nprojects:\n  - name: main\n`;

let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dstack-config-cache-'));
  file = join(dir, 'config.yml');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadOrCreateHomeConfig with cache', () => {
  it('writes the parsed document beside config.yml with mode 0600, and answers from it', async () => {
    await writeFile(file, configYaml(TOKEN_A));
    expect((await loadOrCreateHomeConfig(file, { cache: true })).token).toBe(TOKEN_A);
    const cacheFile = homeConfigCacheFile(file);
    expect((await stat(cacheFile)).mode & 0o777).toBe(0o600);
    // Proof the second read comes from the cache: a cache edited by hand (same key) is what is answered.
    const entry = JSON.parse(await readFile(cacheFile, 'utf8')) as { key: string; doc: { user: string } };
    entry.doc.user = 'from-cache';
    await writeFile(cacheFile, JSON.stringify(entry));
    expect((await loadOrCreateHomeConfig(file, { cache: true })).user).toBe('from-cache');
  });

  it('parses config.yml again when its text changed, even at the same size', async () => {
    await writeFile(file, configYaml(TOKEN_A));
    await loadOrCreateHomeConfig(file, { cache: true });
    await writeFile(file, configYaml(TOKEN_B));
    expect((await loadOrCreateHomeConfig(file, { cache: true })).token).toBe(TOKEN_B);
    expect((await loadOrCreateHomeConfig(file, { cache: true })).token).toBe(TOKEN_B);
  });

  it('ignores a corrupt cache', async () => {
    await writeFile(file, configYaml(TOKEN_A, 4123));
    await writeFile(homeConfigCacheFile(file), '{"key": ');
    expect((await loadOrCreateHomeConfig(file, { cache: true })).server.port).toBe(4123);
    await writeFile(homeConfigCacheFile(file), 'null');
    expect((await loadOrCreateHomeConfig(file, { cache: true })).server.port).toBe(4123);
  });

  it('reports an invalid config.yml the same way with or without the cache', async () => {
    await writeFile(file, configYaml('short'));
    const plain = await loadOrCreateHomeConfig(file).catch((e: Error) => e.message);
    const cached = await loadOrCreateHomeConfig(file, { cache: true }).catch((e: Error) => e.message);
    const again = await loadOrCreateHomeConfig(file, { cache: true }).catch((e: Error) => e.message);
    expect(plain).toContain('token');
    expect(cached).toBe(plain);
    expect(again).toBe(plain);
  });

  it('creates config.yml on first use and caches what it created', async () => {
    const created = await loadOrCreateHomeConfig(file, { cache: true });
    expect((await loadOrCreateHomeConfig(file, { cache: true })).token).toBe(created.token);
    expect((await readdir(dir)).sort()).toEqual(['.config.yml.json', 'config.yml']);
  });

  it('writes nothing beside config.yml without the option', async () => {
    await writeFile(file, configYaml(TOKEN_A));
    await loadOrCreateHomeConfig(file);
    expect(await readdir(dir)).toEqual(['config.yml']);
  });
});
