/**
 * ssh2 with its crypto dependencies (~700 KiB of bundle) loads on the first SSH connection or key, not with the
 * daemon: a daemon on the local backend alone never needs it, and a restarting daemon serves sooner without it.
 */
import type * as Ssh2 from 'ssh2';

let loading: Promise<typeof Ssh2> | undefined;

export function loadSsh2(): Promise<typeof Ssh2> {
  // A bundled dynamic import() of a CJS package yields {default: module.exports} (reference/node-packages.md §2).
  loading ??= import('ssh2').then((m) => (m as unknown as { default?: typeof Ssh2 }).default ?? m);
  return loading;
}
