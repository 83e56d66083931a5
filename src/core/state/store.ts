/**
 * The one way the daemon reads and writes state (DESIGN.md §3). Records are values: a reader never mutates what it
 * got; a writer hands the store a new record. Writes are per record, so the same interface fits the JSON file (the
 * embedded default, src/daemon/state/json-store.ts) and a database where each record is a row updated with
 * compare-and-set, several writes together being one transaction.
 */
import type { FleetRecord, InstanceRecord, ProjectRecord, RunRecord, UserRecord } from './schema.js';

/** Reads: the latest committed records (synchronous: the owning daemon keeps them in memory). */
export interface StateView {
  runs(): readonly RunRecord[];
  run(id: string): RunRecord | undefined;
  instances(): readonly InstanceRecord[];
  instance(name: string): InstanceRecord | undefined;
  fleets(): readonly FleetRecord[];
  fleet(project: string, name: string): FleetRecord | undefined;
  users(): readonly UserRecord[];
  user(name: string): UserRecord | undefined;
  projects(): readonly ProjectRecord[];
  project(name: string): ProjectRecord | undefined;
}

/** Writes of whole records: insert or replace by key (run id, instance name, project + fleet name, user name, project name). */
export interface StateWriter {
  putRun(run: RunRecord): void;
  removeRun(id: string): void;
  putInstance(instance: InstanceRecord): void;
  removeInstance(name: string): void;
  putFleet(fleet: FleetRecord): void;
  removeFleet(project: string, name: string): void;
  putUser(user: UserRecord): void;
  removeUser(name: string): void;
  putProject(project: ProjectRecord): void;
  removeProject(name: string): void;
}

/** Returns the record's replacement; the same object (or undefined) means "no change", and nothing is written. */
export type RecordUpdate<R> = (current: R) => R | undefined;

export interface StateStore extends StateView, StateWriter {
  /** Compare-and-set of one run: `fn` sees the current record. Returns the record now stored (undefined: no such run). */
  updateRun(id: string, fn: RecordUpdate<RunRecord>): RunRecord | undefined;
  updateInstance(name: string, fn: RecordUpdate<InstanceRecord>): InstanceRecord | undefined;
  updateFleet(project: string, name: string, fn: RecordUpdate<FleetRecord>): FleetRecord | undefined;
  updateUser(name: string, fn: RecordUpdate<UserRecord>): UserRecord | undefined;
  updateProject(name: string, fn: RecordUpdate<ProjectRecord>): ProjectRecord | undefined;
  /** Several writes as one unit (one transaction, one file write); reads inside see the writes made so far. */
  transaction<T>(fn: (tx: StateView & StateWriter) => T): T;
  /** Resolves once everything written so far is durable. */
  flush(): Promise<void>;
}

/** Applies a `RecordUpdate` and reports whether it changed anything. */
export function applyUpdate<R>(current: R, fn: RecordUpdate<R>): { next: R; changed: boolean } {
  const next = fn(current);
  return next === undefined || next === current ? { next: current, changed: false } : { next, changed: true };
}

/** `update*` of a store over its own reads and puts: undefined when there is no such record, else the record now stored. */
export function updateRecord<R>(current: R | undefined, fn: RecordUpdate<R>, store: (r: R) => void): R | undefined {
  if (current === undefined) return undefined;
  const { next, changed } = applyUpdate(current, fn);
  if (changed) store(next);
  return next;
}
