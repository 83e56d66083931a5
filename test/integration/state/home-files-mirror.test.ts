/**
 * The leader's server files reach the server that takes over (issue 17, HA): agent tokens, known_hosts entries
 * and cloud project keys written through their stores with a PostgreSQL mirror are restored, byte for byte and
 * with their modes, into another home; a removed token is gone from the mirror too.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureProjectKey } from '../../../src/backends/cloud/project-key.js';
import { KnownHosts } from '../../../src/backends/ssh/known-hosts.js';
import { TokenStore } from '../../../src/backends/ssh/tokens.js';
import { openPgServerFiles } from '../../../src/daemon/state/pg/server-files.js';
import { startTestPostgres, type TestPostgres } from '../../helpers/postgres.js';

let cluster: TestPostgres;
const dirs: string[] = [];
beforeAll(async () => {
  cluster = await startTestPostgres();
});
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  await cluster?.stop();
});
const tempHome = async () => {
  const d = await mkdtemp(join(tmpdir(), 'dstack-mirror-'));
  dirs.push(d);
  return d;
};

describe('server files mirrored into PostgreSQL', () => {
  it('tokens, known_hosts and project keys written on one home are restored into another', async () => {
    const url = await cluster.createDatabase();
    const mirror = await openPgServerFiles(url);
    const leader = await tempHome();
    const files = { mirror, home: leader };
    const sshDir = join(leader, 'server', 'ssh');
    const tokens = new TokenStore(sshDir, files);
    const kept = await tokens.readOrCreate('fleet-0');
    await tokens.readOrCreate('fleet-1');
    await tokens.remove('fleet-1');
    const knownHosts = new KnownHosts(join(leader, 'server', 'known_hosts'), files);
    expect((await knownHosts.check('10.0.0.5', 22, Buffer.from('0000000b7373682d6564323535313900000001ff', 'hex'))).status).toBe('stored');
    const key = await ensureProjectKey(sshDir, 'main', files);

    const next = await tempHome();
    const restored = await openPgServerFiles(url);
    try {
      expect(await restored.restore(next)).toBe(4);
    } finally {
      await restored.close();
      await mirror.close();
    }
    const same = async (rel: string) => expect(await readFile(join(next, rel), 'utf8')).toBe(await readFile(join(leader, rel), 'utf8'));
    expect(await readFile(join(next, 'server/ssh/fleet-0.token'), 'utf8')).toBe(`${kept}\n`);
    await expect(stat(join(next, 'server/ssh/fleet-1.token'))).rejects.toMatchObject({ code: 'ENOENT' });
    await same('server/known_hosts');
    const keyRel = key.identityFile.slice(leader.length + 1);
    await same(keyRel);
    await same(`${keyRel}.pub`);
    expect((await stat(join(next, keyRel))).mode & 0o777).toBe(0o600);
  });
});
