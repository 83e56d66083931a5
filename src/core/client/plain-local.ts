/**
 * Whether a command line surely means the local daemon's default project: no DSTACK_PROJECT (`--project` sets it)
 * and no project of another server in config.yml (`url:` entries, `dstack project add`). The fast paths (early
 * daemon start, catalog-only offers) take only this case; any other goes the normal way, where the parsed config
 * decides (project-target.ts). Plain file reads only: src/main.ts calls it before anything heavy loads.
 */
import { readFileSync } from 'node:fs';
import { resolveHome } from '../home/paths.js';

export function namesOtherServers(configFile: string): boolean {
  try {
    return /^[\s-]*url:/m.test(readFileSync(configFile, 'utf8'));
  } catch (e) {
    // No config.yml yet: the first run creates a local one.
    return (e as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

export function plainLocalProject(env: NodeJS.ProcessEnv): boolean {
  return !env.DSTACK_PROJECT && !namesOtherServers(resolveHome(env).configFile);
}
