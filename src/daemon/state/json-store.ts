/**
 * The embedded state store: `server/state.json`, the whole state in memory and written with coalesced atomic
 * writes (temp file + fsync + rename, mode 0600). Only the daemon holds one, under its lock (node-packages.md §0.5:
 * nothing makes a JSON file safe across processes otherwise). Several writes in a row reach the disk as one write.
 */
import { readFile, rename } from 'node:fs/promises';
import { UserError } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/home/atomic-write.js';
import { State, emptyState, type FleetRecord } from '../../core/state/schema.js';
import { updateRecord, type StateStore, type StateView, type StateWriter } from '../../core/state/store.js';

/**
 * Reads and validates the state file. A corrupt file is moved aside (never overwritten) and reported once with
 * both names, so the next start begins afresh instead of failing forever.
 */
export async function loadState(file: string, now: () => number = Date.now): Promise<State> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    throw e;
  }
  const parsed = parseState(text);
  if ('state' in parsed) return parsed.state;
  const backup = `${file}.corrupt-${now()}`;
  await rename(file, backup);
  throw new UserError('STATE_CORRUPT', `State file ${file} is invalid: ${parsed.problem}. It was moved to ${backup}.`, {
    hint: 'Start the daemon again to begin with empty state (running replicas it no longer knows are stopped).',
  });
}

/** The state a file's text holds, or what is wrong with it (the first issue's path, or the JSON error). */
export function parseState(text: string): { state: State } | { problem: string } {
  try {
    const parsed = State.safeParse(JSON.parse(text));
    if (parsed.success) return { state: parsed.data };
    const first = parsed.error.issues[0];
    return { problem: first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid' };
  } catch (e) {
    return { problem: `not valid JSON (${(e as Error).message})` };
  }
}

const fleetKey = (f: Pick<FleetRecord, 'project' | 'name'>) => `${f.project}/${f.name}`;

/** Insert or replace in a keyed list, keeping the order records were first written in. */
function put<R>(list: R[], key: (r: R) => string, record: R): void {
  const k = key(record);
  const i = list.findIndex((r) => key(r) === k);
  if (i >= 0) list[i] = record;
  else list.push(record);
}

/** Reads and writes over one in-memory `State` (the store's, or a transaction's). */
function access(state: State, written: () => void): StateView & StateWriter {
  return {
    runs: () => state.runs,
    run: (id) => state.runs.find((r) => r.id === id),
    instances: () => state.instances,
    instance: (name) => state.instances.find((i) => i.name === name),
    fleets: () => state.fleets,
    fleet: (project, name) => state.fleets.find((f) => f.project === project && f.name === name),
    putRun: (run) => (put(state.runs, (r) => r.id, run), written()),
    removeRun: (id) => ((state.runs = state.runs.filter((r) => r.id !== id)), written()),
    putInstance: (instance) => (put(state.instances, (i) => i.name, instance), written()),
    removeInstance: (name) => ((state.instances = state.instances.filter((i) => i.name !== name)), written()),
    putFleet: (fleet) => (put(state.fleets, fleetKey, fleet), written()),
    removeFleet: (project, name) => ((state.fleets = state.fleets.filter((f) => fleetKey(f) !== `${project}/${name}`)), written()),
    users: () => state.users,
    user: (name) => state.users.find((u) => u.name === name),
    projects: () => state.projects,
    project: (name) => state.projects.find((p) => p.name === name),
    putUser: (user) => (put(state.users, (u) => u.name, user), written()),
    removeUser: (name) => ((state.users = state.users.filter((u) => u.name !== name)), written()),
    putProject: (project) => (put(state.projects, (p) => p.name, project), written()),
    removeProject: (name) => ((state.projects = state.projects.filter((p) => p.name !== name)), written()),
  };
}

export function createJsonStateStore(file: string, initial: State = emptyState(), onError: (e: unknown) => void = () => {}): StateStore {
  const state = initial;
  let writing: Promise<void> | undefined;
  let dirty = false;

  const writeLoop = async (): Promise<void> => {
    while (dirty) {
      dirty = false;
      try {
        await writeFileAtomic(file, JSON.stringify(state, null, 1));
      } catch (e) {
        onError(e);
      }
    }
    writing = undefined;
  };
  const written = (): void => {
    dirty = true;
    writing ??= Promise.resolve().then(writeLoop);
  };
  const io = access(state, written);


  return {
    ...io,
    updateRun: (id, fn) => updateRecord(io.run(id), fn, io.putRun),
    updateInstance: (name, fn) => updateRecord(io.instance(name), fn, io.putInstance),
    updateFleet: (project, name, fn) => updateRecord(io.fleet(project, name), fn, io.putFleet),
    updateUser: (name, fn) => updateRecord(io.user(name), fn, io.putUser),
    updateProject: (name, fn) => updateRecord(io.project(name), fn, io.putProject),
    transaction(fn) {
      // A transaction works on a copy of the record lists, so a throw leaves the state as it was.
      const draft: State = {
        ...state,
        runs: [...state.runs],
        instances: [...state.instances],
        fleets: [...state.fleets],
        users: [...state.users],
        projects: [...state.projects],
      };
      let touched = false;
      const result = fn(access(draft, () => (touched = true)));
      if (touched) {
        state.runs = draft.runs;
        state.instances = draft.instances;
        state.fleets = draft.fleets;
        state.users = draft.users;
        state.projects = draft.projects;
        written();
      }
      return result;
    },
    async flush() {
      while (writing) await writing;
    },
  };
}
