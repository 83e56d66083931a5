/**
 * Code archives on a real agent (issue 8): PUT with the sha256 verified while streaming, GET as the existence
 * check, and replicas that get the archive extracted at /workflow — bind-mounted into a container on the test
 * dockerd, or as the working directory of a plain process — with `files:` placed at their targets.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { copyFile, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient as TypedClient } from '../../../src/backends/agent-client.js';
import { packSource, type PackedSource } from '../../../src/core/repo/index.js';
import { RepoUploads } from '../../../src/daemon/reconcile/repo-upload.js';
import { ArchiveStore, pruneArchives } from '../../../src/agent/archives/store.js';
import { requireTestDocker, startTestAgent, type TestAgent } from './helpers.js';

let docker: TestAgent;
let proc: TestAgent;
let work: string;
let packed: PackedSource;

const typed = (t: TestAgent) => new TypedClient({ origin: t.agent.url, token: t.client.token });

async function upload(t: TestAgent, p: PackedSource): Promise<number> {
  return typed(t).uploadArchive(p.sha256, createReadStream(p.archivePath), p.bytes);
}

beforeAll(async () => {
  await requireTestDocker();
  work = await mkdtemp(path.join(os.tmpdir(), 'dstack-archives-'));
  await writeFile(path.join(work, 'service.dstack.yml'), 'type: service\n');
  await writeFile(path.join(work, 'hello.txt'), 'hello from the folder\n');
  await writeFile(path.join(work, 'extra.txt'), 'extra file\n');
  await writeFile(path.join(work, 'in.txt'), 'file inside workflow\n');
  packed = await packSource({
    configPath: path.join(work, 'service.dstack.yml'),
    repos: [],
    files: [{ local_path: 'extra.txt', path: '/etc/extra.txt' }, { local_path: 'in.txt', path: 'conf/in.txt' }],
    archivesDir: path.join(work, 'archives'),
    env: process.env,
  });
  docker = await startTestAgent();
  proc = await startTestAgent({ dockerHost: 'unix:///nonexistent/docker.sock' });
});

afterAll(async () => {
  await docker?.close();
  await proc?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('PUT/GET /api/archives/:sha256', () => {
  it('refuses a body whose sha256 is not its name and keeps nothing', async () => {
    const body = randomBytes(4096);
    const wrong = createHash('sha256').update('something else').digest('hex');
    await expect(typed(docker).uploadArchive(wrong, Readable.from([body]), body.length)).rejects.toMatchObject({
      code: 'ARCHIVE_CHECKSUM_MISMATCH',
      status: 400,
    });
    expect(await typed(docker).hasArchive(wrong)).toBe(false);
    expect(await readdir(path.join(docker.home, 'archives'))).toEqual([]);
  });

  it('rejects an id that is not a sha256', async () => {
    const r = await docker.client.call('GET', '/api/archives/..%2Fetc');
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('INVALID_ARCHIVE_ID');
  });

  it('stores a verified archive once: 404 before, 204 after, a second PUT writes nothing', async () => {
    expect((await docker.client.call('GET', `/api/archives/${packed.sha256}`)).status).toBe(404);
    expect(await upload(docker, packed)).toBe(packed.bytes);
    expect((await docker.client.call('GET', `/api/archives/${packed.sha256}`)).status).toBe(204);
    expect(await typed(docker).hasArchive(packed.sha256)).toBe(true);
    expect(await upload(docker, packed)).toBe(0);
  });
});

describe('archive pruning on the host', () => {
  it('deletes archives unused for longer than the age that no live replica needs', async () => {
    const store = new ArchiveStore(path.join(work, 'prune-home'));
    const bodies = [randomBytes(100), randomBytes(100), randomBytes(100)];
    const shas = bodies.map((b) => createHash('sha256').update(b).digest('hex'));
    for (const [i, b] of bodies.entries()) await store.put(shas[i]!, Readable.from([b]));
    await utimes(store.path(shas[0]!), new Date(0), new Date(0));
    await utimes(store.path(shas[1]!), new Date(0), new Date(0));
    expect(await pruneArchives(store, new Set([shas[1]!]), 3600_000, Date.now())).toBe(1);
    expect(await Promise.all(shas.map((s) => store.has(s)))).toEqual([false, true, true]);
  });
});

describe('replicas with a code archive', () => {
  const script = ['pwd', 'cat hello.txt', 'cat conf/in.txt', 'cat /etc/extra.txt', 'echo "repo=$DSTACK_REPO_ID"', 'exit 3'];

  it('Docker: bind-mounts the extracted repo at /workflow, places files, and cleans up on removal', async () => {
    const spec = docker.spec({
      commands: [script.join(' && ')],
      workingDir: '/workflow',
      env: { DSTACK_REPO_ID: 'r1' },
      repo: { sha256: packed.sha256, dir: '/workflow', files: [{ source: '0', target: '/etc/extra.txt' }, { source: '1', target: '/workflow/conf/in.txt' }] },
    });
    expect((await docker.client.call('POST', '/api/replicas', spec)).status).toBe(201);
    const state = await docker.client.waitTerminal(spec.id);
    expect(state).toMatchObject({ phase: 'exited', exitCode: 3 });
    expect((await docker.client.logs(spec.id)).toString()).toBe(
      '/workflow\nhello from the folder\nfile inside workflow\nextra file\nrepo=r1\n',
    );
    const ws = path.join(docker.home, 'workspaces', spec.id);
    expect(existsSync(path.join(ws, 'repo', 'hello.txt'))).toBe(true);
    await docker.client.call('DELETE', `/api/replicas/${spec.id}`);
    expect(existsSync(ws)).toBe(false);
  });

  it('process runtime: the extracted repo is the working directory (/workflow/sub → <repo>/sub)', async () => {
    expect(await upload(proc, packed)).toBe(packed.bytes);
    const spec = proc.spec({
      image: undefined,
      commands: ['cat ../hello.txt && cat ../conf/in.txt && exit 5'],
      workingDir: '/workflow/sub',
      repo: { sha256: packed.sha256, dir: '/workflow', files: [{ source: '1', target: '/workflow/conf/in.txt' }] },
    });
    await proc.client.call('POST', '/api/replicas', spec);
    const state = await proc.client.waitTerminal(spec.id);
    expect(state).toMatchObject({ phase: 'exited', exitCode: 5 });
    expect((await proc.client.logs(spec.id)).toString()).toBe('hello from the folder\nfile inside workflow\n');
    await proc.client.call('DELETE', `/api/replicas/${spec.id}`);
    expect(existsSync(path.join(proc.home, 'workspaces', spec.id))).toBe(false);
  });

  it('process runtime: a file target outside /workflow fails the replica with a clear reason', async () => {
    const spec = proc.spec({
      image: undefined,
      commands: ['true'],
      repo: { sha256: packed.sha256, dir: '/workflow', files: [{ source: '0', target: '/etc/extra.txt' }] },
    });
    await proc.client.call('POST', '/api/replicas', spec);
    const state = await proc.client.waitTerminal(spec.id);
    expect(state).toMatchObject({ phase: 'failed', reason: 'FILES_TARGET_UNSUPPORTED' });
    expect(state.message).toContain('/etc/extra.txt');
  });

  it('fails with REPO_ARCHIVE_MISSING when the archive was never uploaded, REPO_EXTRACT_FAILED when it is not a tar.gz', async () => {
    const missing = createHash('sha256').update('never uploaded').digest('hex');
    const a = docker.spec({ commands: ['true'], repo: { sha256: missing, dir: '/workflow' } });
    await docker.client.call('POST', '/api/replicas', a);
    expect(await docker.client.waitTerminal(a.id)).toMatchObject({ phase: 'failed', reason: 'REPO_ARCHIVE_MISSING' });

    const junk = randomBytes(2048);
    const sha = createHash('sha256').update(junk).digest('hex');
    await typed(docker).uploadArchive(sha, Readable.from([junk]), junk.length);
    const b = docker.spec({ commands: ['true'], repo: { sha256: sha, dir: '/workflow' } });
    await docker.client.call('POST', '/api/replicas', b);
    const failed = await docker.client.waitTerminal(b.id);
    expect(failed).toMatchObject({ phase: 'failed', reason: 'REPO_EXTRACT_FAILED' });
    expect(failed.message).toContain(sha);
  });
});

describe("the daemon's RepoUploads against a real agent", () => {
  it('concurrent starts share one PUT; a later start only asks; a stale unused archive is pruned', async () => {
    const t = await startTestAgent({ dockerHost: 'unix:///nonexistent/docker.sock' });
    try {
      const stale = path.join(work, 'archives', `${'0'.repeat(64)}.tar.gz`);
      await copyFile(packed.archivePath, stale);
      await utimes(stale, new Date(0), new Date(0));
      const uploads = new RepoUploads({ log: () => undefined, activeShas: () => new Set([packed.sha256]), clock: Date.now });
      const client = typed(t);
      await Promise.all([1, 2, 3].map(() => uploads.ensure('h', client, packed)));
      expect(uploads.stats).toEqual({ puts: 1, bytes: packed.bytes });
      await uploads.ensure('h', client, packed);
      expect(uploads.stats.puts).toBe(1);
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(packed.archivePath)).toBe(true);
      // The agent lost its copy (reinstalled): the next start uploads again instead of failing the replica.
      await rm(path.join(t.home, 'archives'), { recursive: true });
      await uploads.ensure('h', client, packed);
      expect(uploads.stats.puts).toBe(2);
    } finally {
      await t.close();
    }
  });

  it('names the archive when it is gone from this machine', async () => {
    const uploads = new RepoUploads({ log: () => undefined, activeShas: () => new Set(), clock: Date.now });
    const gone = { ...packed, sha256: createHash('sha256').update('gone').digest('hex'), archivePath: path.join(work, 'gone.tar.gz') };
    await expect(uploads.ensure('h', typed(docker), gone)).rejects.toMatchObject({ code: 'REPO_ARCHIVE_MISSING', message: expect.stringContaining('gone.tar.gz') });
  });
});
