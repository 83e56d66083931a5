/**
 * Writing files that other processes read while they change (DESIGN.md §3): a reader sees the old content or the
 * new one, never a half-written file. Temp files sit beside the target (rename/link only work within a
 * filesystem) and are named by pid plus random bytes, created with O_EXCL: two processes, even in different pid
 * namespaces sharing one DSTACK_HOME, can never write or delete each other's temp file.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Atomic write with fsync: temp file in the same folder, then rename over the target. Mode 0600. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = await writeTemp(file, data);
  try {
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await syncDir(dirname(file));
}

/**
 * Creates `file` with `data` only if it does not exist yet; returns true if this call created it. The name
 * appears with its whole content at once (link(2) of a complete temp file, which fails with EEXIST like O_EXCL),
 * so a process that loses the race can read the winner's file straight away. Opening the target itself with
 * `wx` would be exclusive too, but would show readers an empty file until the write finished.
 */
export async function createFileExclusive(file: string, data: string | Uint8Array): Promise<boolean> {
  const tmp = await writeTemp(file, data);
  try {
    await link(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  await syncDir(dirname(file));
  return true;
}

const TEMP_ATTEMPTS = 5;

/** A fresh temp file beside `file`, written and fsynced; a name that already exists is never reused. */
async function writeTemp(file: string, data: string | Uint8Array): Promise<string> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  for (let attempt = 1; ; attempt++) {
    const tmp = `${file}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`;
    let fh;
    try {
      fh = await open(tmp, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && attempt < TEMP_ATTEMPTS) continue;
      throw e;
    }
    try {
      await fh.writeFile(data);
      await fh.datasync();
    } catch (e) {
      await fh.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    await fh.close();
    return tmp;
  }
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename or link is still atomic.
  }
}
