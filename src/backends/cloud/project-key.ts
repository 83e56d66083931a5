/**
 * The project's SSH key (dstack: one key per project, given to every VM it creates): ed25519 in OpenSSH format at
 * DSTACK_HOME/server/ssh/projects/<project>/id_ed25519 (0600) with `.pub` beside it. Made once; every later call,
 * in this daemon or another one on the same home, reads the same pair (the private key is written exclusively, so
 * two daemons starting at once cannot end up with different keys on their VMs).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadSsh2 } from '../ssh/ssh2.js';
import { InternalError } from '../../core/errors.js';
import { mirrorPut, type HomeFiles } from '../ssh/home-files.js';

export interface ProjectKey {
  /** Absolute path of the private key: the SSH targets' identityFile. */
  identityFile: string;
  /** `ssh-ed25519 AAAA… dstack-<project>`, for CreateInstanceRequest.sshPublicKey. */
  publicKey: string;
}

/** Where a project's key lives under `sshDir` (DSTACK_HOME/server/ssh). */
export function projectKeyPath(sshDir: string, project: string): string {
  return join(sshDir, 'projects', encodeURIComponent(project), 'id_ed25519');
}

/** `files`: a shared database's copy, so the server that takes over reaches the project's VMs (issue 17). */
export async function ensureProjectKey(sshDir: string, project: string, files?: HomeFiles): Promise<ProjectKey> {
  const identityFile = projectKeyPath(sshDir, project);
  await mkdir(dirname(identityFile), { recursive: true, mode: 0o700 });
  const { utils } = await loadSsh2();
  const pair = utils.generateKeyPairSync('ed25519', { comment: `dstack-${project}` });
  const created = await writeFile(identityFile, pair.private, { flag: 'wx', mode: 0o600 }).then(
    () => true,
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST') return false;
      throw e;
    },
  );
  if (created) {
    await writeFile(`${identityFile}.pub`, `${pair.public}\n`, { mode: 0o644 });
    await mirrorPut(files, identityFile, pair.private, 0o600);
    await mirrorPut(files, `${identityFile}.pub`, `${pair.public}\n`, 0o644);
    return { identityFile, publicKey: pair.public };
  }
  return { identityFile, publicKey: await publicKeyOf(identityFile) };
}

/** The public line of an existing private key (the `.pub` file may be missing or not yet written by its maker). */
async function publicKeyOf(identityFile: string): Promise<string> {
  const { utils } = await loadSsh2();
  const parsed = utils.parseKey(await readFile(identityFile));
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) {
    throw new InternalError('PROJECT_KEY_INVALID', `${identityFile} is not a usable private key`, {
      hint: `Delete ${identityFile} and its .pub file; dstack makes a new key (VMs created with the old one become unreachable).`,
    });
  }
  return `${key.type} ${key.getPublicSSH().toString('base64')} ${key.comment || 'dstack'}`;
}
