/**
 * The hosts of an SSH fleet as `SshTarget`s, and what re-applying a fleet does to them (dstack-notes §5.1), pure
 * (paths are computed, never read).
 *
 * - `sshTargets`: one target per `ssh_config.hosts` entry (per-host settings already resolved by the schema),
 *   instance names `<fleet>-<index>` in host order from 0 as dstack names them; `~` and `~/…` expand against the
 *   home folder, relative key paths resolve against the configuration file's folder (where the user wrote them).
 *   A jump host without its own `port`/`user`/`identity_file` uses 22 and the host's user and key.
 * - `diffHosts`: hosts are the same host when `user@hostname:port` is; kept hosts keep their instance name (with the
 *   new settings), removed ones are listed for termination, and added ones get the lowest index no current
 *   instance holds, so no live or terminating instance's name is ever reused while it exists.
 */
import path from 'node:path';
import { UserError } from '../errors.js';
import type { FleetConfig } from '../model/fleet.js';
import type { SshTarget } from './types.js';

/**
 * A host after FleetConfigSchema's transform. `SshHostConfig` still types hosts as the pre-transform union
 * (string-form hosts included) because the transform spreads the parsed object, so the resolved shape is named here.
 */
interface ResolvedHost {
  hostname: string;
  port: number;
  user: string;
  identity_file: string;
  proxy_jump?: { hostname: string; port?: number | undefined; user?: string | undefined; identity_file?: string | undefined } | undefined;
  internal_ip?: string | undefined;
  blocks: number | 'auto';
}

export interface HostDiff {
  add: SshTarget[];
  keep: SshTarget[];
  remove: SshTarget[];
}

/** `user@hostname:port`: how a host is told apart (FleetPlan.hosts shows it). */
export const hostKey = (t: Pick<SshTarget, 'user' | 'hostname' | 'port'>): string => `${t.user}@${t.hostname}:${t.port}`;

function keyPath(file: string, homeDir: string, configDir: string, fleet: string, host: string): string {
  if (file === '~') return homeDir;
  if (file.startsWith('~/')) return path.join(homeDir, file.slice(2));
  if (file.startsWith('~')) {
    throw new UserError('FLEET_IDENTITY_FILE', `fleet \`${fleet}\`: identity_file \`${file}\` of host \`${host}\` uses another user's home`, {
      hint: 'write `~/…` for your own home folder, or the full path',
    });
  }
  return path.resolve(configDir, file);
}

function targetOf(fleet: string, index: number, h: ResolvedHost, homeDir: string, configDir: string): SshTarget {
  const key = (file: string) => keyPath(file, homeDir, configDir, fleet, h.hostname);
  const jump = h.proxy_jump;
  return {
    instance: `${fleet}-${index}`,
    fleet,
    hostname: h.hostname,
    port: h.port,
    user: h.user,
    identityFile: key(h.identity_file),
    ...(jump
      ? { proxyJump: { hostname: jump.hostname, port: jump.port ?? 22, user: jump.user ?? h.user, identityFile: key(jump.identity_file ?? h.identity_file) } }
      : {}),
    ...(h.internal_ip !== undefined ? { internalIp: h.internal_ip } : {}),
    blocks: h.blocks,
  };
}

/** The fleet's hosts as targets; `configDir` is the folder of the fleet's configuration file. */
export function sshTargets(fleetName: string, config: FleetConfig, homeDir: string, configDir: string): SshTarget[] {
  const hosts = config.ssh_config?.hosts as ResolvedHost[] | undefined;
  if (hosts === undefined) throw new UserError('FLEET_NOT_SSH', `fleet \`${fleetName}\` has no \`ssh_config\`, so it has no SSH hosts`);
  const targets = hosts.map((h, i) => targetOf(fleetName, i, h, homeDir, configDir));
  const seen = new Map<string, number>();
  targets.forEach((t, i) => {
    const first = seen.get(hostKey(t));
    if (first !== undefined) {
      throw new UserError('FLEET_DUPLICATE_HOST', `fleet \`${fleetName}\`: host \`${hostKey(t)}\` is listed twice (ssh_config.hosts[${first}] and [${i}])`, {
        hint: 'list each host once',
      });
    }
    seen.set(hostKey(t), i);
  });
  return targets;
}

const indexOf = (instance: string): number | undefined => {
  const m = /-(\d+)$/.exec(instance);
  return m ? Number(m[1]) : undefined;
};

/** Re-applying a fleet: `next` (fresh from `sshTargets`) against the `current` instances. */
export function diffHosts(current: readonly SshTarget[], next: readonly SshTarget[]): HostDiff {
  const live = new Map(current.map((t) => [hostKey(t), t]));
  const wanted = new Set(next.map(hostKey));
  const taken = new Set(current.map((t) => indexOf(t.instance)));
  let free = 0;
  const nextFree = () => {
    while (taken.has(free)) free += 1;
    taken.add(free);
    return free;
  };
  const keep: SshTarget[] = [];
  const add: SshTarget[] = [];
  for (const t of next) {
    const existing = live.get(hostKey(t));
    if (existing) keep.push({ ...t, instance: existing.instance });
    else add.push({ ...t, instance: `${t.fleet}-${nextFree()}` });
  }
  return { add, keep, remove: current.filter((t) => !wanted.has(hostKey(t))) };
}
