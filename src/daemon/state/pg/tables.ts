/**
 * The PostgreSQL store's records in memory, served synchronously like the JSON store's: keyed maps that keep the
 * order keys were first written in (a replace keeps its place, a remove then put goes last), with every written
 * key reported so the store knows which rows to write back.
 */
import type { FleetRecord, InstanceRecord, ProjectRecord, RunRecord, UserRecord } from '../../../core/state/schema.js';
import type { StateView, StateWriter } from '../../../core/state/store.js';

export type TableName = 'runs' | 'instances' | 'fleets' | 'users' | 'projects';

/** Fleets are keyed by project and name; as a JSON pair the key splits back unambiguously. */
export const fleetKey = (project: string, name: string): string => JSON.stringify([project, name]);
export const splitFleetKey = (key: string): [string, string] => JSON.parse(key) as [string, string];

export const keyOf = {
  runs: (r: RunRecord) => r.id,
  instances: (i: InstanceRecord) => i.name,
  fleets: (f: FleetRecord) => fleetKey(f.project, f.name),
  users: (u: UserRecord) => u.name,
  projects: (p: ProjectRecord) => p.name,
};

export class Table<R> {
  private list: readonly R[] | undefined;

  constructor(private readonly rows: Map<string, R> = new Map()) {}

  all(): readonly R[] {
    // Cached until the next write: the reconciler and the proxy read the lists far more often than they change.
    this.list ??= [...this.rows.values()];
    return this.list;
  }

  get(key: string): R | undefined {
    return this.rows.get(key);
  }

  put(key: string, record: R): void {
    this.rows.set(key, record);
    this.list = undefined;
  }

  remove(key: string): void {
    if (this.rows.delete(key)) this.list = undefined;
  }

  copy(): Table<R> {
    return new Table(new Map(this.rows));
  }
}

export interface Tables {
  runs: Table<RunRecord>;
  instances: Table<InstanceRecord>;
  fleets: Table<FleetRecord>;
  users: Table<UserRecord>;
  projects: Table<ProjectRecord>;
}

export const copyTables = (t: Tables): Tables => ({
  runs: t.runs.copy(),
  instances: t.instances.copy(),
  fleets: t.fleets.copy(),
  users: t.users.copy(),
  projects: t.projects.copy(),
});

/** Reads and writes over one set of tables (the store's, or a transaction's draft). */
export function access(t: Tables, written: (table: TableName, key: string) => void): StateView & StateWriter {
  const put = <R>(table: TableName, rows: Table<R>, key: string, record: R) => (rows.put(key, record), written(table, key));
  const remove = <R>(table: TableName, rows: Table<R>, key: string) => (rows.remove(key), written(table, key));
  return {
    runs: () => t.runs.all(),
    run: (id) => t.runs.get(id),
    instances: () => t.instances.all(),
    instance: (name) => t.instances.get(name),
    fleets: () => t.fleets.all(),
    fleet: (project, name) => t.fleets.get(fleetKey(project, name)),
    putRun: (run) => put('runs', t.runs, keyOf.runs(run), run),
    removeRun: (id) => remove('runs', t.runs, id),
    putInstance: (instance) => put('instances', t.instances, keyOf.instances(instance), instance),
    removeInstance: (name) => remove('instances', t.instances, name),
    putFleet: (fleet) => put('fleets', t.fleets, keyOf.fleets(fleet), fleet),
    removeFleet: (project, name) => remove('fleets', t.fleets, fleetKey(project, name)),
    users: () => t.users.all(),
    user: (name) => t.users.get(name),
    projects: () => t.projects.all(),
    project: (name) => t.projects.get(name),
    putUser: (user) => put('users', t.users, keyOf.users(user), user),
    removeUser: (name) => remove('users', t.users, name),
    putProject: (project) => put('projects', t.projects, keyOf.projects(project), project),
    removeProject: (name) => remove('projects', t.projects, name),
  };
}
