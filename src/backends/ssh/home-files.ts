/**
 * Files the daemon keeps under DSTACK_HOME that another server on the same database needs to take over (issue 17:
 * agent tokens, known_hosts, cloud project keys, code archives): written here first, then to the mirror under
 * their path relative to the home. Without a shared database the mirror is NO_FILE_MIRROR and nothing changes.
 */
import { relative, sep } from 'node:path';
import type { FileMirror } from '../../core/state/file-mirror.js';

export interface HomeFiles {
  mirror: FileMirror;
  /** DSTACK_HOME: mirrored paths are relative to it. */
  home: string;
}

/** The mirror's name of `file`, or undefined for a file outside the home (never mirrored). */
function relOf(files: HomeFiles, file: string): string | undefined {
  const rel = relative(files.home, file);
  return rel === '' || rel.startsWith('..') || rel.startsWith(sep) ? undefined : rel.split(sep).join('/');
}

export async function mirrorPut(files: HomeFiles | undefined, file: string, content: Buffer | string, mode?: number): Promise<void> {
  const rel = files && relOf(files, file);
  if (files && rel) await files.mirror.put(rel, content, mode);
}

export async function mirrorRemove(files: HomeFiles | undefined, file: string): Promise<void> {
  const rel = files && relOf(files, file);
  if (files && rel) await files.mirror.remove(rel);
}
