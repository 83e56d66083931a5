/**
 * Where state lives (DESIGN.md §3): everything under DSTACK_HOME (default ~/.dstack), files mode 0600.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface HomePaths {
  home: string;
  configFile: string;
  serverDir: string;
  stateFile: string;
  lockFile: string;
  daemonFile: string;
  logsDir: string;
  /** Local backend: the embedded agent's own folder (replica dirs, archives). */
  localAgentDir: string;
  /** Packed code archives (issue 8), content-addressed. */
  archivesDir: string;
}

export function resolveHome(env: NodeJS.ProcessEnv = process.env): HomePaths {
  const home = env.DSTACK_HOME && env.DSTACK_HOME.length > 0 ? env.DSTACK_HOME : join(homedir(), '.dstack');
  const serverDir = join(home, 'server');
  return {
    home,
    configFile: join(home, 'config.yml'),
    serverDir,
    stateFile: join(serverDir, 'state.json'),
    lockFile: join(serverDir, 'daemon.lock'),
    daemonFile: join(serverDir, 'daemon.json'),
    logsDir: join(serverDir, 'logs'),
    localAgentDir: join(serverDir, 'local-agent'),
    archivesDir: join(home, 'archives'),
  };
}
