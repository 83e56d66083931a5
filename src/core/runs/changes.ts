/**
 * What re-applying a config does to an active run (dstack-notes §1.2 `_TYPE_SPECIFIC_CONF_UPDATABLE_FIELDS`):
 * `replicas`/`scaling` change in place; port, probes, resources, env, commands, image and the other spec fields
 * roll out as a new deployment; anything else needs the run stopped and recreated.
 */
import type { RunRecord } from '../state/schema.js';

export const IN_PLACE_FIELDS = ['replicas', 'scaling', 'groups', 'priority'] as const;
export const ROLLING_FIELDS = [
  'port', 'probes', 'resources', 'volumes', 'docker', 'files', 'image', 'user', 'privileged', 'entrypoint',
  'working_dir', 'python', 'nvcc', 'single_branch', 'env', 'shell', 'commands', 'registry_auth', 'stop_duration',
] as const;
/** Fields that only name or describe the run; a change there is not a change of the service. */
const IGNORED_FIELDS = new Set(['name', 'type']);
const IN_PLACE = new Set<string>(IN_PLACE_FIELDS);
const ROLLING = new Set<string>(ROLLING_FIELDS);

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
export function diffConfigs(before: object, after: object): ChangeSet {
  const [a, b] = [new Map(Object.entries(before)), new Map(Object.entries(after))];
  const keys = [...new Set([...a.keys(), ...b.keys()])].filter((k) => !IGNORED_FIELDS.has(k)).sort();
  const changed = keys.filter((k) => stable(a.get(k)) !== stable(b.get(k)));
  if (changed.length === 0) return { action: 'none', changes: [], redeploy: false };
  const blocking = changed.filter((k) => !IN_PLACE.has(k) && !ROLLING.has(k));
  const changes = changed.map((k) => `${k} (${IN_PLACE.has(k) ? 'in place' : ROLLING.has(k) ? 'rolling deployment' : 'cannot be updated in place'})`);
  if (blocking.length > 0) return { action: 'recreate', changes, redeploy: true };
  return { action: 'update', changes, redeploy: changed.some((k) => ROLLING.has(k)) };
}

/** What a run deploys: its config, code archive and replica spec templates (a stored run, or a prepared one). */
export type Deployable = Pick<RunRecord, 'config' | 'repo' | 'specTemplate' | 'specTemplates'>;

/** What applying `next` over the active run `current` changes. */
export function diffRuns(current: Deployable, next: Deployable): ChangeSet {
  const change = withRepoChange(diffConfigs(current.config, next.config), current, next);
  // The same YAML can still mean a different container (e.g. DSTACK_BASE_IMAGE changed on the daemon).
  const templates = (r: Deployable) => JSON.stringify([r.specTemplate, r.specTemplates]);
  if (change.action === 'none' && templates(current) !== templates(next)) {
    return { action: 'update', changes: ['replica spec (rolling deployment)'], redeploy: true };
  }
  return change;
}

/** A new code archive (an edited file, even uncommitted) is a rolling deployment, as dstack's code diff is. */
function withRepoChange(change: ChangeSet, before: Deployable, after: Deployable): ChangeSet {
  if (before.repo?.sha256 === after.repo?.sha256) return change;
  const action = change.action === 'recreate' ? 'recreate' : 'update';
  return { action, changes: [...change.changes, 'repo changed (rolling deployment)'], redeploy: true };
}
