/**
 * Starting the daemon detached (DESIGN.md §2): the CLI re-runs itself as the daemon (`dstack server`'s work), with stdout and stderr
 * appended to a log file, and waits for the health check. In a single binary the executable is the CLI, so no
 * script argument is passed; otherwise the bundle path (`process.argv[1]`) is.
 */
import { createRequire } from 'node:module';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ROLES } from './roles.js';

export interface SpawnedDaemon {
  pid: number | undefined;
  /** Resolves with the exit code if the process ends while we still wait for it (it must not, normally). */
  exited: Promise<number | null>;
  /** Stop listening to the child so the CLI can exit while the daemon lives on. */
  release(): void;
  /** Let the CLI exit while still listening for the child's exit. */
  unref?(): void;
}

export type SpawnDaemon = (opts: { logFile: string; env: NodeJS.ProcessEnv }) => SpawnedDaemon;

export function isSingleBinary(): boolean {
  try {
    const req = typeof require === 'function' ? require : createRequire(import.meta.url);
    return (req('node:sea') as { isSea(): boolean }).isSea();
  } catch {
    // node:sea is missing on older Node builds, and import.meta is empty in some bundles: not a SEA then.
    return false;
  }
}

/**
 * This CLI run again in a hidden role (roles.ts): the bundle path (`process.argv[1]`) under node, nothing in a
 * single binary, where the executable is the CLI. `execArgv`: node flags the child keeps (the daemon's, for workers).
 */
export function selfArgv(role: string, execArgv: readonly string[] = []): string[] {
  const script = process.argv[1];
  return isSingleBinary() || script === undefined ? [role] : [...execArgv, script, role];
}

export function daemonArgv(): string[] {
  return selfArgv(ROLES.daemon);
}

export const spawnDetachedDaemon: SpawnDaemon = ({ logFile, env }) => {
  mkdirSync(dirname(logFile), { recursive: true, mode: 0o700 });
  const fd = openSync(logFile, 'a', 0o600);
  try {
    // node:child_process only now: `ps` with its daemon up never spawns, and loading it cost ~5 ms (issue 15).
    const child = process.getBuiltinModule('node:child_process').spawn(process.execPath, daemonArgv(), { detached: true, stdio: ['ignore', fd, fd], env });
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.once('error', () => resolve(-1));
    });
    return {
      pid: child.pid,
      exited,
      release() {
        child.removeAllListeners();
        child.unref();
      },
      unref: () => child.unref(),
    };
  } finally {
    closeSync(fd);
  }
};
