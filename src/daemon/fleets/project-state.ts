/**
 * Fleets belong to a project (issue 17) while instance records share one key space in state (the instance name):
 * each project's fleet manager sees state through a view that lists only its project's instances and stamps the
 * project on those it writes, so fleet code written for one project stays correct with many. Records without a
 * project (written before projects had fleets) belong to the server's default project.
 */
import { nextInstanceName } from '../../core/fleets/cloud.js';
import type { InstanceRecord } from '../../core/state/schema.js';
import type { StateStore, StateView, StateWriter } from '../../core/state/store.js';

export interface FleetProject {
  project: string;
  /** The server's default project (config.yml `default_project`); absent = `project` is the default. */
  defaultProject?: string | undefined;
}

export const instanceProject = (i: Pick<InstanceRecord, 'project'>, defaultProject: string): string => i.project ?? defaultProject;

const isDefault = (p: FleetProject): boolean => p.defaultProject === undefined || p.defaultProject === p.project;

/** The prefix of a project's instance names: none for the default project (names in existing state stay valid). */
export const instancePrefix = (p: FleetProject): string => (isDefault(p) ? '' : `${p.project}.`);

/** The next free `<fleet>-<n>` of a cloud fleet, with the project's prefix. */
export function nextProjectInstanceName(p: FleetProject, fleet: string, instances: readonly InstanceRecord[]): string {
  const prefix = instancePrefix(p);
  const bare = instances.map((i) => (i.name.startsWith(prefix) ? { ...i, name: i.name.slice(prefix.length) } : i));
  return prefix + nextInstanceName(fleet, bare);
}

/** `store` as project `p`'s fleet code sees it: its own instances only; instances it writes carry the project. */
export function projectFleetState(store: StateStore, p: FleetProject): StateStore {
  const owns = (i: InstanceRecord): boolean => instanceProject(i, p.defaultProject ?? p.project) === p.project;
  const stamp = (i: InstanceRecord): InstanceRecord => (isDefault(p) || i.project !== undefined ? i : { ...i, project: p.project });
  const narrow = <V extends StateView & StateWriter>(view: V): V =>
    new Proxy(view, {
      get(target, key) {
        if (key === 'instances') return () => target.instances().filter(owns);
        if (key === 'instance') return (name: string) => {
          const i = target.instance(name);
          return i && owns(i) ? i : undefined;
        };
        if (key === 'putInstance') return (i: InstanceRecord) => target.putInstance(stamp(i));
        if (key === 'transaction') return <T>(fn: (tx: StateView & StateWriter) => T): T => (target as unknown as StateStore).transaction((tx) => fn(narrow(tx)));
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  return narrow(store);
}
