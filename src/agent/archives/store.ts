/**
 * The agent's content-addressed store of code archives (issue 8): `<home>/archives/<sha256>.tar.gz`. An upload
 * streams into a temp file while its sha256 is computed and is renamed into place only when the digest matches
 * the name, so a cut or corrupted upload never leaves a file another replica could extract.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AgentError } from '../errors.js';

export const SHA256 = /^[a-f0-9]{64}$/;
/** Well above the CLI's 100 MB (uncompressed) repo limit; a body over it is refused while it streams. */
export const DEFAULT_ARCHIVE_CAP = 1024 * 1024 * 1024;

export class ArchiveStore {
  readonly dir: string;

  constructor(home: string, private readonly capBytes = DEFAULT_ARCHIVE_CAP) {
    this.dir = path.join(home, 'archives');
  }

  path(sha256: string): string {
    return path.join(this.dir, `${checkSha(sha256)}.tar.gz`);
  }

  async has(sha256: string): Promise<boolean> {
    return stat(this.path(sha256)).then((s) => s.isFile(), () => false);
  }

  /** Stores `body` as `sha256`; resolves with the bytes written (0 when it was already there). */
  async put(sha256: string, body: Readable, declaredBytes?: number): Promise<number> {
    const target = this.path(sha256);
    if (declaredBytes !== undefined && declaredBytes > this.capBytes) throw tooLarge(this.capBytes);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = path.join(this.dir, `.upload-${randomBytes(6).toString('hex')}`);
    const hash = createHash('sha256');
    let bytes = 0;
    const cap = this.capBytes;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        if (bytes > cap) return done(tooLarge(cap));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(body, meter, createWriteStream(tmp, { mode: 0o600 }));
      const digest = hash.digest('hex');
      if (digest !== sha256) {
        throw new AgentError('ARCHIVE_CHECKSUM_MISMATCH', `archive body has sha256 ${digest}, not ${sha256} as its name says`, 400);
      }
      await rename(tmp, target);
      return bytes;
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }
}

/**
 * Deletes stored archives older than `maxAgeMs` that no replica in `keep` uses, so a host that gets a new
 * archive on every apply does not fill its disk. Age is the last upload or use (mtime), not the first.
 */
export async function pruneArchives(store: ArchiveStore, keep: ReadonlySet<string>, maxAgeMs: number, now: number): Promise<number> {
  let removed = 0;
  for (const name of await readdir(store.dir).catch(() => [] as string[])) {
    const m = /^([a-f0-9]{64})\.tar\.gz$/.exec(name);
    if (!m || keep.has(m[1]!)) continue;
    const file = path.join(store.dir, name);
    const st = await stat(file).catch(() => undefined);
    if (st && now - st.mtimeMs > maxAgeMs) {
      await rm(file, { force: true });
      removed += 1;
    }
  }
  return removed;
}

export function checkSha(sha256: string): string {
  if (!SHA256.test(sha256)) throw new AgentError('INVALID_ARCHIVE_ID', `archive id must be a lowercase hex sha256, got "${sha256.slice(0, 80)}"`, 400);
  return sha256;
}

const tooLarge = (cap: number) => new AgentError('ARCHIVE_TOO_LARGE', `archive is over the agent's limit of ${cap} bytes`, 413);
