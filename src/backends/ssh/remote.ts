/**
 * Commands and files on a fleet host over one ssh2 connection: exec with collected output, and SFTP writes that
 * land atomically (temp name, then rename) with the mode set before the content is visible. Secrets travel only
 * as SFTP file content, never in a command line (it would show in the host's `ps`).
 */
import type { Client, SFTPWrapper } from 'ssh2';
import { InternalError } from '../../core/errors.js';

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function exec(client: Client, command: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, stream) => {
      if (err) return reject(new InternalError('SSH_EXEC_FAILED', `cannot run a command over SSH (${err.message})`, { cause: err }));
      let stdout = '';
      let stderr = '';
      stream.on('data', (d: Buffer) => (stdout += d.toString()));
      stream.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      stream.once('close', (code: number | null) => resolve({ code, stdout, stderr }));
    });
  });
}

/** POSIX single-quoting for paths built from the remote $HOME. */
export const shq = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

export function sftp(client: Client): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) =>
    client.sftp((err, s) => (err ? reject(new InternalError('SSH_SFTP_FAILED', `cannot open SFTP (${err.message})`, { cause: err })) : resolve(s))),
  );
}

const call = <T>(fn: (cb: (err: Error | null | undefined, value?: T) => void) => void, what: string): Promise<T> =>
  new Promise((resolve, reject) =>
    fn((err, value) => (err ? reject(new InternalError('SSH_SFTP_FAILED', `${what}: ${err.message}`, { cause: err })) : resolve(value as T))),
  );

/** Uploads a local file to `remote` through `<remote>.tmp`, then renames it into place with `mode`. */
export async function uploadFile(s: SFTPWrapper, local: string, remote: string, mode: number): Promise<void> {
  const tmp = `${remote}.tmp`;
  await call<void>((cb) => s.fastPut(local, tmp, { mode }, (e) => cb(e)), `uploading ${local} to ${tmp}`);
  await call<void>((cb) => s.chmod(tmp, mode, (e) => cb(e)), `chmod ${tmp}`);
  await replace(s, tmp, remote);
}

/** Writes `content` to `remote` (created with `mode`, e.g. 0600 for the token) atomically. */
export async function writeRemoteFile(s: SFTPWrapper, remote: string, content: string, mode: number): Promise<void> {
  const tmp = `${remote}.tmp`;
  await call<void>((cb) => s.writeFile(tmp, content, { mode }, (e) => cb(e)), `writing ${tmp}`);
  await call<void>((cb) => s.chmod(tmp, mode, (e) => cb(e)), `chmod ${tmp}`);
  await replace(s, tmp, remote);
}

/** POSIX rename through OpenSSH's posix-rename extension: plain SFTP rename fails when the target exists. */
async function replace(s: SFTPWrapper, from: string, to: string): Promise<void> {
  await call<void>((cb) => s.ext_openssh_rename(from, to, (e) => cb(e)), `renaming ${from} to ${to}`);
}
