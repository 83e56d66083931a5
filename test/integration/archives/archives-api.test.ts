/**
 * The code archive routes of the control API (issue 17, src/daemon/api/archives.ts) on a real HTTP server on port 0,
 * and the reconciler's side (repo-upload.ts): an archive is read from the server's own folder by sha256, never from
 * the path a run's request names.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../../src/core/auth/principal.js';
import type { ProjectRecord } from '../../../src/core/state/schema.js';
import { archiveFile, createArchivesApi } from '../../../src/daemon/api/archives.js';
import { RepoUploads, type ArchiveClient } from '../../../src/daemon/reconcile/repo-upload.js';

const team: ProjectRecord = { name: 'team', createdAt: 0, createdBy: 'admin', members: [{ user: 'alice', role: 'user' }] };
const USERS: Record<string, Principal> = { alice: { user: 'alice', globalRole: 'user' }, eve: { user: 'eve', globalRole: 'user' } };

let dir: string;
let server: Server;
let base: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dstack-archives-'));
  const api = createArchivesApi({
    archivesDir: join(dir, 'archives'),
    maxBytes: 1000,
    access: {
      users: () => [],
      adminToken: () => 'admin-token-0123456789',
      adminUser: () => 'admin',
      project: (name) => (name === 'team' ? team : undefined),
      defaultProject: () => 'team',
      scope: (name) => (name === 'team' ? {} : undefined),
    },
  });
  // The router resolves the principal; here the bearer token is the user's name.
  server = createServer((req, res) => {
    const principal = USERS[(req.headers.authorization ?? '').replace('Bearer ', '')]!;
    void api({ req, res, method: req.method ?? 'GET', path: new URL(req.url ?? '/', 'http://x').pathname, principal }).then((answered) => {
      if (!answered) res.writeHead(599).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const call = (method: string, path: string, user = 'alice', body?: Buffer) => fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${user}` }, ...(body ? { body } : {}) });

describe('HEAD and PUT /api/projects/<p>/archives/<sha256>', () => {
  it('stores an archive once, 0600, named by its content; HEAD tells whether it is held', async () => {
    const bytes = Buffer.from('archive bytes');
    const path = `/api/projects/team/archives/${sha(bytes)}`;
    expect((await call('HEAD', path)).status).toBe(404);
    const put = await call('PUT', path, 'alice', bytes);
    expect(put.status).toBe(201);
    expect(await put.json()).toEqual({ sha256: sha(bytes), bytes: bytes.length, stored: true });
    const file = archiveFile(join(dir, 'archives'), sha(bytes));
    expect(await readFile(file)).toEqual(bytes);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await call('HEAD', path)).status).toBe(200);
    expect((await call('HEAD', `/api/archives/${sha(bytes)}`)).status).toBe(200);
    expect((await call('PUT', path, 'alice', bytes)).status).toBe(200);
  });

  it('refuses bytes that do not hash to the name, and over the size limit, keeping nothing', async () => {
    const bytes = Buffer.from('other bytes');
    const wrong = 'a'.repeat(64);
    const mismatch = await call('PUT', `/api/projects/team/archives/${wrong}`, 'alice', bytes);
    expect(mismatch.status).toBe(400);
    expect(await mismatch.json()).toMatchObject({ code: 'ARCHIVE_SHA_MISMATCH' });
    const big = Buffer.alloc(2000, 1);
    const tooLarge = await call('PUT', `/api/projects/team/archives/${sha(big)}`, 'alice', big);
    expect(tooLarge.status).toBe(413);
    expect((await call('HEAD', `/api/projects/team/archives/${wrong}`)).status).toBe(404);
    expect((await call('HEAD', `/api/projects/team/archives/${sha(big)}`)).status).toBe(404);
  });

  it('answers only members, names bad sha256s, and leaves other paths to the router', async () => {
    const bytes = Buffer.from('eve was here');
    expect((await call('PUT', `/api/projects/team/archives/${sha(bytes)}`, 'eve', bytes)).status).toBe(403);
    expect((await call('HEAD', `/api/projects/nope/archives/${sha(bytes)}`)).status).toBe(404);
    expect((await call('PUT', '/api/projects/team/archives/..%2Fx', 'alice', bytes)).status).toBe(400);
    expect((await call('GET', '/api/projects/team/runs')).status).toBe(599);
  });
});

describe('the reconciler reads archives from its own folder', () => {
  it('sends the server copy named by sha256 whatever path the run names', async () => {
    const archives = join(dir, 'own');
    const bytes = Buffer.from('the server copy');
    await mkdir(archives, { recursive: true });
    await writeFile(archiveFile(archives, sha(bytes)), bytes);
    const received: Buffer[] = [];
    const agent: ArchiveClient = {
      hasArchive: async () => false,
      uploadArchive: async (_sha: string, body: Readable, size: number) => {
        for await (const c of body) received.push(c as Buffer);
        return size;
      },
    };
    const uploads = new RepoUploads({ log: () => undefined, activeShas: () => new Set([sha(bytes)]), clock: Date.now, archivesDir: archives });
    await uploads.ensure('h', agent, { sha256: sha(bytes), files: 1, bytes: bytes.length, archivePath: '/etc/passwd' });
    expect(Buffer.concat(received)).toEqual(bytes);
  });
});

describe('archives on a shared database (issue 17, HA)', () => {
  it('a HEAD of an archive this home holds but never mirrored puts it into the mirror, once per process', async () => {
    const home = await mkdtemp(join(tmpdir(), 'dstack-archives-ha-'));
    const puts: { rel: string; content: Buffer; mode: number | undefined }[] = [];
    const mirror = {
      put: async (rel: string, content: Buffer | string, mode?: number) => void puts.push({ rel, content: Buffer.from(content), mode }),
      remove: async () => undefined,
    };
    const api = createArchivesApi({
      archivesDir: join(home, 'archives'),
      files: { mirror, home },
      access: {
        users: () => [],
        adminToken: () => 'admin-token-0123456789',
        adminUser: () => 'admin',
        project: (name) => (name === 'team' ? team : undefined),
        defaultProject: () => 'team',
        scope: (name) => (name === 'team' ? {} : undefined),
      },
    });
    const ha = createServer((req, res) => {
      void api({ req, res, method: req.method ?? 'GET', path: new URL(req.url ?? '/', 'http://x').pathname, principal: USERS.alice! });
    });
    await new Promise<void>((r) => ha.listen(0, '127.0.0.1', r));
    const at = `http://127.0.0.1:${(ha.address() as AddressInfo).port}`;
    try {
      // Packed straight into this home by a CLI on this host: never PUT.
      const local = Buffer.from('packed locally');
      await mkdir(join(home, 'archives'), { recursive: true });
      await writeFile(archiveFile(join(home, 'archives'), sha(local)), local);
      for (let i = 0; i < 2; i++) expect((await fetch(`${at}/api/archives/${sha(local)}`, { method: 'HEAD' })).status).toBe(200);
      expect(puts).toEqual([{ rel: `archives/${sha(local)}.tar.gz`, content: local, mode: 0o600 }]);
      // Uploaded: mirrored with the PUT, not again on the next HEAD.
      const sent = Buffer.from('uploaded');
      expect((await fetch(`${at}/api/archives/${sha(sent)}`, { method: 'PUT', body: sent })).status).toBe(201);
      expect((await fetch(`${at}/api/archives/${sha(sent)}`, { method: 'HEAD' })).status).toBe(200);
      expect(puts.map((p) => p.rel)).toEqual([`archives/${sha(local)}.tar.gz`, `archives/${sha(sent)}.tar.gz`]);
      // Not held: nothing to mirror.
      expect((await fetch(`${at}/api/archives/${'c'.repeat(64)}`, { method: 'HEAD' })).status).toBe(404);
      expect(puts).toHaveLength(2);
    } finally {
      await new Promise((r) => ha.close(r));
      await rm(home, { recursive: true, force: true });
    }
  });
});
