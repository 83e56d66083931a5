/**
 * What re-applying a config does to an active run (dstack-notes §1.2 `_TYPE_SPECIFIC_CONF_UPDATABLE_FIELDS`):
 * `replicas`/`scaling` change in place; port, probes, resources, env, commands, image and the other spec fields
 * roll out as a new deployment; anything else needs the run stopped and recreated.
 */
export const IN_PLACE_FIELDS = ['replicas', 'scaling', 'groups', 'priority'] as const;
export const ROLLING_FIELDS = [
  'port', 'probes', 'resources', 'volumes', 'docker', 'files', 'image', 'user', 'privileged', 'entrypoint',
  'working_dir', 'python', 'nvcc', 'single_branch', 'env', 'shell', 'commands', 'registry_auth', 'stop_duration',
] as const;
/** Fields that only name or describe the run; a change there is not a change of the service. */
const IGNORED_FIELDS = new Set(['name', 'type']);

export type ChangeAction = 'update' | 'none' | 'recreate';

export interface ChangeSet {
  action: ChangeAction;
  /** Human-readable, one line per changed field: "env (rolling deployment)". */
  changes: string[];
  /** True when replicas must be replaced (a new deployment). */
  redeploy: boolean;
}

const stable = (v: unknown): string => JSON.stringify(v, (_k, x) =>
  x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x);

/** Compares two normalized configs field by field. */
export function diffConfigs(before: Record<string, unknown>, after: Record<string, unknown>): ChangeSet {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => !IGNORED_FIELDS.has(k)).sort();
  const changed = keys.filter((k) => stable(before[k]) !== stable(after[k]));
  if (changed.length === 0) return { action: 'none', changes: [], redeploy: false };
  const inPlace = (k: string) => (IN_PLACE_FIELDS as readonly string[]).includes(k);
  const rolling = (k: string) => (ROLLING_FIELDS as readonly string[]).includes(k);
  const blocking = changed.filter((k) => !inPlace(k) && !rolling(k));
  const changes = changed.map((k) => `${k} (${inPlace(k) ? 'in place' : rolling(k) ? 'rolling deployment' : 'cannot be updated in place'})`);
  if (blocking.length > 0) return { action: 'recreate', changes, redeploy: true };
  return { action: 'update', changes, redeploy: changed.some(rolling) };
}
