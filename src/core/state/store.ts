/**
 * The state store: the whole state in memory, persisted with coalesced atomic writes (temp file + fsync + rename,
 * mode 0600). Only the daemon holds one, under its lock (node-packages.md §0.5: no cross-process safety otherwise).
 */
import { readFile, rename } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../home/config-file.js';
import { State, emptyState } from './schema.js';

export interface StateStore {
  /** The live state; mutate only inside `update`. */
  readonly state: State;
  /** Applies `fn` to the state and schedules one write (several updates in a row are written once). */
  update<T>(fn: (state: State) => T): T;
  /** Resolves once everything updated so far is on disk. */
  flush(): Promise<void>;
}

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
  let problem: string;
  try {
    const parsed = State.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
    const first = parsed.error.issues[0];
    problem = first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid';
  } catch (e) {
    problem = `not valid JSON (${(e as Error).message})`;
  }
  const backup = `${file}.corrupt-${now()}`;
  await rename(file, backup);
  throw new UserError('STATE_CORRUPT', `State file ${file} is invalid: ${problem}. It was moved to ${backup}.`, {
    hint: 'Start the daemon again to begin with empty state (running replicas it no longer knows are stopped).',
  });
}

export function createStateStore(file: string, initial: State, onError: (e: unknown) => void = () => {}): StateStore {
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

  return {
    state,
    update(fn) {
      const result = fn(state);
      dirty = true;
      writing ??= Promise.resolve().then(writeLoop);
      return result;
    },
    async flush() {
      while (writing) await writing;
    },
  };
}
