/**
 * Reads DSTACK_HOME/config.yml, creating it race-free. `loadOrCreateHomeConfig` writes with rename, so two CLIs
 * started at once on a fresh home would each write their own admin token and one would then be refused by the
 * daemon. Creating with link() is exclusive: exactly one token wins and every process reads that one.
 */
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { defaultHomeConfig, loadOrCreateHomeConfig, type HomeConfig } from '../home/config-file.js';

export async function ensureHomeConfig(file: string): Promise<HomeConfig> {
  const exists = await readFile(file).then(
    () => true,
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return false;
      throw e;
    },
  );
  if (!exists) {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.new`;
    await writeFile(tmp, stringify(defaultHomeConfig()), { mode: 0o600 });
    try {
      await link(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }
  return loadOrCreateHomeConfig(file);
}
