/**
 * The daemon's own known_hosts (DSTACK_HOME/server/known_hosts, OpenSSH format, 0600): trust on first contact,
 * then refuse any other key for that host (dstack-notes §5: the server talks to hosts only over SSH, so a changed
 * key is a man in the middle until the user says otherwise). Writes go through one queue: several hosts are
 * provisioned at once and each appends a line; backends sharing the file must share one KnownHosts for that reason.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { UserError } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/home/atomic-write.js';
import { mirrorPut, type HomeFiles } from './home-files.js';

/** `host` for port 22, `[host]:port` otherwise, as OpenSSH writes them. */
export function hostPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** OpenSSH's `SHA256:<base64 without padding>` of a raw public key blob. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type is the first string of the SSH wire encoding of the key (`ssh-ed25519`, `rsa-sha2-…`). */
export function keyType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('latin1');
}

export type HostKeyCheck =
  | { status: 'known'; fingerprint: string }
  | { status: 'stored'; fingerprint: string }
  | { status: 'changed'; error: UserError };

export class KnownHosts {
  private queue: Promise<unknown> = Promise.resolve();

  /** `files`: a shared database's copy, for the server that takes over (issue 17). */
  constructor(
    readonly file: string,
    private readonly files?: HomeFiles,
  ) {}

  /**
   * Trusts `blob` on first contact (storing it) or when it is the stored key; a different key is an error. With
   * `alias` (OpenSSH's HostKeyAlias) the key is stored and looked up under that name instead of `[host]:port`.
   */
  check(host: string, port: number, blob: Buffer, alias?: string): Promise<HostKeyCheck> {
    return this.serial(() => this.checkNow(alias ?? hostPattern(host, port), blob));
  }

  /**
   * Removes every key stored for `name` (an alias, a host, or `[host]:port`): a terminated cloud instance's key must
   * not pile up, and must not be trusted for whatever gets its name next.
   */
  forget(name: string): Promise<void> {
    return this.serial(async () => {
      const lines = await this.lines();
      const kept = lines.filter((l) => !matches(l, name) && !matchesAnyPort(l, name));
      if (kept.length !== lines.length) await this.write(kept);
    });
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async checkNow(pattern: string, blob: Buffer): Promise<HostKeyCheck> {
    const lines = await this.lines();
    const type = keyType(blob);
    const presented = blob.toString('base64');
    const mine = lines.filter((l) => matches(l, pattern));
    const sameType = mine.filter((l) => l.split(/\s+/)[1] === type);
    if (sameType.some((l) => l.split(/\s+/)[2] === presented)) return { status: 'known', fingerprint: fingerprint(blob) };
    const stored = sameType[0];
    if (stored !== undefined) {
      const old = fingerprint(Buffer.from(stored.split(/\s+/)[2] ?? '', 'base64'));
      const error = new UserError(
        'HOST_KEY_CHANGED',
        `the host key of ${pattern} changed: ${this.file} has ${type} ${old}, the host now presents ${fingerprint(blob)}; not connecting`,
        { hint: `If the host was re-installed on purpose, delete the line starting with "${pattern} ${type}" from ${this.file} and retry.` },
      );
      return { status: 'changed', error };
    }
    await this.write([...lines, `${pattern} ${type} ${presented}`]);
    return { status: 'stored', fingerprint: fingerprint(blob) };
  }

  private async write(lines: string[]): Promise<void> {
    const text = lines.map((l) => `${l}\n`).join('');
    await writeFileAtomic(this.file, text);
    await mirrorPut(this.files, this.file, text, 0o600);
  }

  private async lines(): Promise<string[]> {
    const text = await readFile(this.file, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return '';
      throw e;
    });
    return text.split('\n').filter((l) => l.trim().length > 0);
  }
}

function matches(line: string, pattern: string): boolean {
  if (line.startsWith('#')) return false;
  const hosts = line.split(/\s+/)[0] ?? '';
  return hosts.split(',').includes(pattern);
}

function matchesAnyPort(line: string, host: string): boolean {
  if (line.startsWith('#')) return false;
  const hosts = line.split(/\s+/)[0] ?? '';
  return hosts.split(',').some((h) => h.startsWith(`[${host}]:`));
}
