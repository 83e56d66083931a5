/**
 * Sends a run's code archive to each host once (issue 8). The archive stays where the CLI packed it
 * (DSTACK_HOME/archives/<sha256>.tar.gz, same machine as the daemon); before a replica starts, the agent is
 * asked whether it holds that sha256 and only if not is the file streamed to it with PUT. That one HTTP client
 * works for the local agent and, through the SSH tunnel dispatcher, for hosts of SSH fleets. Starts on the same
 * instance at the same time share one upload. After a new upload, archives in that
 * folder that no active run references and that are older than a day are deleted (a CLI may be between packing
 * and submitting a new one).
 */
import { createReadStream } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { AgentClient } from '../../backends/agent-client.js';
import { InternalError } from '../../core/errors.js';
import type { RepoInfo } from '../../core/api.js';
import { archiveFile } from '../api/archives.js';
import type { Log } from '../process/log.js';

/** The agent calls an upload makes. */
export type ArchiveClient = Pick<AgentClient, 'hasArchive' | 'uploadArchive'>;

export interface RepoUploadsOptions {
  log: Log;
  /** sha256 of the archives active runs still need. */
  activeShas: () => Set<string>;
  clock: () => number;
  /** Archives younger than this are never pruned (default one day). */
  keepMs?: number;
  /**
   * This server's DSTACK_HOME/archives: archives are read from there by sha256 (the local CLI packs into it, remote
   * CLIs upload into it: api/archives.ts), never from the path a run's request names. Absent: `repo.archivePath`.
   */
  archivesDir?: string;
}

export interface UploadStats {
  /** PUT requests made and bytes they carried (the bench counts them). */
  puts: number;
  bytes: number;
}

export class RepoUploads {
  private readonly inFlight = new Map<string, Promise<void>>();
  readonly stats: UploadStats = { puts: 0, bytes: 0 };

  constructor(private readonly o: RepoUploadsOptions) {}

  /**
   * Resolves once `instance` holds the archive; concurrent calls for the same pair share one check and upload.
   * Nothing is remembered after that: the next start asks the agent again (one GET), so a reinstalled agent or
   * a replaced host gets the archive instead of a replica failing with REPO_ARCHIVE_MISSING.
   */
  ensure(instance: string, client: ArchiveClient, repo: RepoInfo): Promise<void> {
    const key = `${instance}\u0000${repo.sha256}`;
    const known = this.inFlight.get(key);
    if (known) return known;
    const p = this.upload(instance, client, repo).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }

  private async upload(instance: string, client: ArchiveClient, repo: RepoInfo): Promise<void> {
    if (await client.hasArchive(repo.sha256)) return;
    const file = this.o.archivesDir !== undefined ? archiveFile(this.o.archivesDir, repo.sha256) : repo.archivePath;
    const size = await stat(file).then((s) => s.size, () => undefined);
    if (size === undefined) {
      throw new InternalError('REPO_ARCHIVE_MISSING', `the code archive ${file} is gone from this machine`, {
        hint: 'Apply the configuration again: the CLI packs the folder anew.',
      });
    }
    this.o.log(`uploading code archive ${repo.sha256.slice(0, 12)} (${size} bytes) to ${instance}`);
    this.stats.puts += 1;
    this.stats.bytes += size;
    await client.uploadArchive(repo.sha256, createReadStream(file), size);
    await this.prune(path.dirname(file)).catch((e: unknown) => this.o.log(`archive cleanup: ${(e as Error).message}`));
  }

  private async prune(dir: string): Promise<void> {
    const keep = this.o.activeShas();
    const cutoff = this.o.clock() - (this.o.keepMs ?? 24 * 3600_000);
    for (const name of await readdir(dir)) {
      const m = /^([a-f0-9]{64})\.tar\.gz$/.exec(name);
      if (!m || keep.has(m[1]!)) continue;
      const file = path.join(dir, name);
      const st = await stat(file).catch(() => undefined);
      if (st && st.mtimeMs < cutoff) await rm(file, { force: true });
    }
  }
}
