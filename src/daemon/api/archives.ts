/**
 * Code archives sent by CLIs on other machines (issue 17, `dstack apply` to a remote server), content-addressed:
 * `HEAD /api/projects/<p>/archives/<sha256>` answers 200 when this server holds it, 404 otherwise; `PUT` with the
 * bytes stores it as `<archivesDir>/<sha256>.tar.gz` (0600) after checking the size limit and that the bytes hash
 * to the name. The reconciler reads archives only from that folder, by sha256 (repo-upload.ts), so a run's `repo`
 * never makes the server read a path a client chose. Unprefixed `/api/archives/...` is the default project's.
 * Any project member who may apply (`write`) may upload; the folder is shared, as the content names itself.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Principal } from '../../core/auth/principal.js';
import { DstackError, UserError } from '../../core/errors.js';
import { DEFAULT_REPO_SIZE_LIMIT } from '../../core/repo/limits.js';
import { mirrorPut, type HomeFiles } from '../../backends/ssh/home-files.js';
import { sendJson } from './http.js';
import { authorize, splitProject, type AccessOptions } from './scope-access.js';

export interface ArchivesApiOptions {
  /** DSTACK_HOME/archives of this server. */
  archivesDir: string;
  /** Who may reach which project (the router's access options). */
  access: AccessOptions<unknown>;
  /** Largest accepted archive in bytes (default: the CLI's repo size limit). */
  maxBytes?: number;
  /** A shared database's copy, so the server that takes over can still start the run's replicas (issue 17). */
  files?: HomeFiles;
}

export interface ArchivesRequest {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  principal: Principal;
}

const ROUTE = /^\/api\/archives\/([^/]+)$/;
const SHA256 = /^[a-f0-9]{64}$/;

/** The path of an archive in `archivesDir` (the one place both the API and the reconciler name it). */
export function archiveFile(archivesDir: string, sha256: string): string {
  return path.join(archivesDir, `${sha256}.tar.gz`);
}

export function createArchivesApi(o: ArchivesApiOptions): (ctx: ArchivesRequest) => Promise<boolean> {
  const maxBytes = o.maxBytes ?? DEFAULT_REPO_SIZE_LIMIT;
  // An archive a CLI on this host packed straight into this home was never PUT: mirrored on its first HEAD instead.
  const mirrored = new Set<string>();
  const mirror = async (sha: string, file: string): Promise<void> => {
    if (!o.files || mirrored.has(sha)) return;
    await mirrorPut(o.files, file, await readFile(file), 0o600);
    mirrored.add(sha);
  };
  return async ({ req, res, method, path: full, principal }) => {
    const { project, path: rest } = splitProject(full);
    const m = ROUTE.exec(rest);
    if (!m) return false;
    try {
      if (method !== 'HEAD' && method !== 'PUT') throw new UserError('METHOD_NOT_ALLOWED', `${method} ${full} is not a control API route`, { status: 405 });
      authorize(principal, project, 'write', o.access);
      const sha = m[1]!;
      if (!SHA256.test(sha)) throw new UserError('INVALID_REQUEST', `${sha} is not a sha256 (64 lower-case hex digits)`);
      const file = archiveFile(o.archivesDir, sha);
      const held = await stat(file).then((s) => s.isFile(), () => false);
      if (held) await mirror(sha, file);
      if (method === 'HEAD') {
        res.writeHead(held ? 200 : 404, { 'cache-control': 'no-store' }).end();
        return true;
      }
      if (held) {
        req.resume();
        sendJson(res, 200, { sha256: sha, stored: false });
        return true;
      }
      const bytes = await receive(req, file, sha, maxBytes, o.archivesDir);
      await mirror(sha, file);
      sendJson(res, 201, { sha256: sha, bytes, stored: true });
    } catch (e) {
      if (!(e instanceof DstackError) || e.status >= 500) throw e;
      // Refused before or while reading: the rest of the body is not waited for.
      res.setHeader('connection', 'close');
      if (method === 'HEAD') res.writeHead(e.status).end();
      else sendJson(res, e.status, e.toWire());
    }
    return true;
  };
}

/** Streams the body into a temp file beside the target, hashing and counting; renamed into place only when it checks out. */
async function receive(req: IncomingMessage, file: string, sha: string, maxBytes: number, dir: string): Promise<number> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.upload-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  const hash = createHash('sha256');
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > maxBytes) return done(tooLarge(maxBytes));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(req, count, createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
    const got = hash.digest('hex');
    if (got !== sha) throw new UserError('ARCHIVE_SHA_MISMATCH', `the uploaded bytes hash to ${got}, not ${sha}`, { hint: 'Apply again: the CLI packs and sends the archive anew.' });
    await rename(tmp, file);
    return bytes;
  } finally {
    await rm(tmp, { force: true });
  }
}

function tooLarge(maxBytes: number): UserError {
  return new UserError('ARCHIVE_TOO_LARGE', `the code archive is over this server's limit of ${maxBytes} bytes`, {
    status: 413,
    hint: 'List files the service does not need in .dstackignore.',
  });
}
