/**
 * Writes the collected files as a deterministic tar.gz named by its own sha256 (content addressing): the same
 * files give the same name whatever their mtimes, so an unchanged project is neither rewritten nor re-sent.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { RepoInfo } from '../api.js';
import { comparePaths, type RepoEntry, type RepoFiles } from './collect.js';
import { tarChunks, type TarEntry } from './tar.js';

export interface PackOptions {
  outDir: string;
}

export interface PackedRepo extends RepoInfo {
  /** Sum of file sizes before compression; `bytes` is the archive's size. */
  contentBytes: number;
}

export async function packRepo(files: Pick<RepoFiles, 'entries'>, options: PackOptions): Promise<PackedRepo> {
  await mkdir(options.outDir, { recursive: true });
  const tmp = path.join(options.outDir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}.tar.gz`);
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    await pipeline(
      Readable.from(batched(tarChunks(withFolders(files.entries)), BATCH_BYTES)),
      // gzip's default level, as `tar czf`: -9 costs twice the CPU on incompressible files for ~1% less size.
      // 1 MiB output chunks: the 16 KiB default makes a thread-pool round trip per 16 KiB of archive.
      createGzip({ level: 6, chunkSize: 1 << 20 }),
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          bytes += chunk.length;
          yield chunk;
        }
      },
      createWriteStream(tmp),
    );
    const sha256 = hash.digest('hex');
    const archivePath = path.join(options.outDir, `${sha256}.tar.gz`);
    // An archive that is already there is touched, so the daemon's cleanup of unused old archives spares it.
    if (await exists(archivePath)) await Promise.all([rm(tmp, { force: true }), utimes(archivePath, new Date(), new Date())]);
    else await rename(tmp, archivePath);
    const fileCount = files.entries.length;
    const contentBytes = files.entries.reduce((s, e) => s + (e.kind === 'file' ? e.data.length : 0), 0);
    return { sha256, files: fileCount, bytes, archivePath, contentBytes };
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * The tar writer yields a 512-byte header and a small body per file; gzip handles every write as one trip to
 * the thread pool, so thousands of tiny chunks cost more than the compression. Batches go in instead.
 */
const BATCH_BYTES = 1024 * 1024;

function* batched(chunks: Iterable<Buffer>, size: number): Generator<Buffer> {
  let pending: Buffer[] = [];
  let bytes = 0;
  for (const chunk of chunks) {
    pending.push(chunk);
    bytes += chunk.length;
    if (bytes >= size) {
      yield Buffer.concat(pending, bytes);
      pending = [];
      bytes = 0;
    }
  }
  if (bytes > 0) yield Buffer.concat(pending, bytes);
}

/** Adds a folder entry for every parent, so extraction creates them with a fixed mode, and sorts everything. */
export function withFolders(entries: readonly RepoEntry[]): TarEntry[] {
  const dirs = new Set<string>();
  for (const e of entries) {
    const parts = e.path.split('/');
    for (let n = 1; n < parts.length; n++) dirs.add(parts.slice(0, n).join('/'));
  }
  const all: TarEntry[] = [...[...dirs].map((p): TarEntry => ({ kind: 'dir', path: p })), ...entries];
  const key = (e: TarEntry) => (e.kind === 'dir' ? `${e.path}/` : e.path);
  return all.sort((a, b) => comparePaths(key(a), key(b)));
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
