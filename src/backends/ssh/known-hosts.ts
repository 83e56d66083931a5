/**
 * The daemon's own known_hosts (DSTACK_HOME/server/known_hosts, OpenSSH format, 0600): trust on first contact,
 * then refuse any other key for that host (dstack-notes §5: the server talks to hosts only over SSH, so a changed
 * key is a man in the middle until the user says otherwise). Writes go through one queue: several hosts are
 * provisioned at once and each appends a line.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { UserError } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/home/atomic-write.js';

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

  constructor(readonly file: string) {}

  /** Trusts `blob` on first contact (storing it) or when it is the stored key; a different key is an error. */
  check(host: string, port: number, blob: Buffer): Promise<HostKeyCheck> {
    const next = this.queue.then(() => this.checkNow(host, port, blob));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async checkNow(host: string, port: number, blob: Buffer): Promise<HostKeyCheck> {
    const pattern = hostPattern(host, port);
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
    await writeFileAtomic(this.file, [...lines, `${pattern} ${type} ${presented}`].map((l) => `${l}\n`).join(''));
    return { status: 'stored', fingerprint: fingerprint(blob) };
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
