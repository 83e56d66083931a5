/**
 * Restart to serving (issue 15): a command that always needs the daemon starts it before loading its own code when
 * daemon.json names no living process, so the daemon boots while the CLI loads oclif and the command instead of
 * after. connectDaemon then waits for this child instead of spawning another. Only plain files and `kill(pid, 0)`
 * here: main.ts imports this before anything heavy.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveHome } from '../home/paths.js';
import { spawnDetachedDaemon, type SpawnedDaemon } from './auto-start.js';
import { namesOtherServers } from './plain-local.js';
import { NEEDS_DAEMON } from './roles.js';

/**
 * The child started early, on globalThis: `ps` runs from its own bundle (dist/hot, src/code-cache.ts), whose copy
 * of this module must take the child that main.ts's copy started.
 */
const EARLY = Symbol.for('dstack.earlyDaemon');
const slot = globalThis as { [EARLY]?: SpawnedDaemon | undefined };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: a process of another user has that pid, so it is alive (and not ours: the normal path decides).
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function recordedPid(file: string): number | undefined {
  try {
    const pid = (JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown }).pid;
    return typeof pid === 'number' ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function startDaemonEarly(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): void {
  const [word] = argv;
  if (word === undefined || !NEEDS_DAEMON.has(word) || argv.some((a) => a === '--help' || a === '-h')) return;
  const paths = resolveHome(env);
  // A first run creates config.yml (and its token) on the normal path; a daemon that may still be alive is asked there.
  if (!existsSync(paths.configFile)) return;
  // Which project is meant (maybe one on another server) only the parsed config says: the normal path decides.
  if (argv.some((a) => a === '--project' || a.startsWith('--project=')) || env.DSTACK_PROJECT || namesOtherServers(paths.configFile)) return;
  const pid = recordedPid(paths.daemonFile);
  if (pid !== undefined && alive(pid)) return;
  try {
    const early = spawnDetachedDaemon({ logFile: join(paths.logsDir, 'daemon.log'), env });
    // The CLI may end (an error, a daemon found another way) without waiting for it.
    early.unref?.();
    slot[EARLY] = early;
  } catch {
    // The normal path spawns it and reports what goes wrong.
    slot[EARLY] = undefined;
  }
}

/** The daemon this process started early, once: connectDaemon waits for it instead of starting another. */
export function takeEarlyDaemon(): SpawnedDaemon | undefined {
  const taken = slot[EARLY];
  slot[EARLY] = undefined;
  return taken;
}
