/**
 * Per-host agent tokens kept by the daemon in DSTACK_HOME/server/ssh/<instance>.token (0600), so a restarted
 * daemon reconnects to running agents from the fleet state and these files alone, without re-provisioning.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { newToken } from '../../core/home/config-file.js';
import { writeFileAtomic } from '../../core/home/atomic-write.js';
import { mirrorPut, mirrorRemove, type HomeFiles } from './home-files.js';

export class TokenStore {
  /** `files`: a shared database's copy, for the server that takes over (issue 17). */
  constructor(
    readonly dir: string,
    private readonly files?: HomeFiles,
  ) {}

  file(instance: string): string {
    return join(this.dir, `${encodeURIComponent(instance)}.token`);
  }

  async read(instance: string): Promise<string | undefined> {
    const text = await readFile(this.file(instance), 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    const token = text?.trim();
    return token ? token : undefined;
  }

  /** The stored token, or a new one written (0600) before it is used anywhere. */
  async readOrCreate(instance: string): Promise<string> {
    const existing = await this.read(instance);
    if (existing) return existing;
    const token = newToken();
    await writeFileAtomic(this.file(instance), `${token}\n`);
    await mirrorPut(this.files, this.file(instance), `${token}\n`, 0o600);
    return token;
  }

  async remove(instance: string): Promise<void> {
    await rm(this.file(instance), { force: true });
    await mirrorRemove(this.files, this.file(instance));
  }
}
