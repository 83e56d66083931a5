import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptyState, type InstanceRecord } from '../../core/state/schema.js';
import { createJsonStateStore, loadState } from './json-store.js';

const instance = (name: string, over: Partial<InstanceRecord> = {}): InstanceRecord => ({
  name, backend: 'ssh', status: 'idle', unreachable: false, createdAt: 0, ...over,
});

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'json-store-'));
  file = join(dir, 'state.json');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('JSON state store', () => {
  it('writes records to a 0600 file that the next daemon loads back', async () => {
    const store = createJsonStateStore(file, emptyState());
    store.putInstance(instance('a'));
    store.putFleet({ name: 'f', project: 'main', status: 'active', createdAt: 1, configRaw: { type: 'fleet' } });
    store.updateInstance('a', (i) => ({ ...i, status: 'busy' }));
    await store.flush();
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const loaded = await loadState(file);
    expect(loaded.instances).toEqual([instance('a', { status: 'busy' })]);
    expect(loaded.fleets.map((f) => `${f.project}/${f.name}`)).toEqual(['main/f']);
  });

  it('an update that returns the same record writes nothing', async () => {
    const store = createJsonStateStore(file, emptyState());
    store.putInstance(instance('a'));
    await store.flush();
    await rm(file);
    expect(store.updateInstance('a', (i) => i)).toEqual(instance('a'));
    expect(store.updateInstance('missing', (i) => ({ ...i, status: 'busy' }))).toBeUndefined();
    await store.flush();
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a transaction that throws leaves the state as it was; one that returns applies every write', async () => {
    const store = createJsonStateStore(file, emptyState());
    store.putInstance(instance('a'));
    expect(() =>
      store.transaction((tx) => {
        tx.removeInstance('a');
        tx.putInstance(instance('b'));
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(store.instances().map((i) => i.name)).toEqual(['a']);
    const seen = store.transaction((tx) => {
      tx.removeInstance('a');
      tx.putInstance(instance('b'));
      return tx.instances().map((i) => i.name);
    });
    expect([seen, store.instances().map((i) => i.name)]).toEqual([['b'], ['b']]);
  });

  it('moves a corrupt file aside and says where', async () => {
    await writeFile(file, '{"version": 1, "runs": "nope"}');
    await expect(loadState(file, () => 42)).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringContaining(`${file}.corrupt-42`) });
    expect(await readFile(`${file}.corrupt-42`, 'utf8')).toContain('nope');
  });
});
