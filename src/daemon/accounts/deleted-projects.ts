/**
 * config.yml projects deleted through the API (issue 17). Start-up makes a record for every config.yml project
 * that has none (bootstrap.ts), so without a memory of the deletion a deleted project would come back, empty, at
 * the next start: what `dstack project delete` said was gone would reappear. The names are kept on config.yml's
 * user (a record both state stores already keep), read from any user so a renamed config user does not lose them;
 * making the project again through the API forgets the deletion.
 */
import type { StateView, StateWriter } from '../../core/state/store.js';

/** Every config.yml project deleted through the API and not made again since. */
export function deletedConfigProjects(store: Pick<StateView, 'users' | 'project'>): ReadonlySet<string> {
  const names = new Set<string>();
  for (const u of store.users()) for (const name of u.deletedConfigProjects ?? []) if (!store.project(name)) names.add(name);
  return names;
}

/** Remembers `name` on the config user's record (no such record: nothing to remember it on, start makes one). */
export function rememberDeleted(tx: Pick<StateView, 'user'> & Pick<StateWriter, 'putUser'>, configUser: string, name: string): void {
  const user = tx.user(configUser);
  if (!user || user.deletedConfigProjects?.includes(name)) return;
  tx.putUser({ ...user, deletedConfigProjects: [...(user.deletedConfigProjects ?? []), name] });
}

/** The project is made again: no user remembers it as deleted any more. */
export function forgetDeleted(tx: Pick<StateView, 'users'> & Pick<StateWriter, 'putUser'>, name: string): void {
  for (const u of tx.users()) {
    if (!u.deletedConfigProjects?.includes(name)) continue;
    const rest = u.deletedConfigProjects.filter((n) => n !== name);
    const { deletedConfigProjects: _gone, ...user } = u;
    tx.putUser(rest.length > 0 ? { ...user, deletedConfigProjects: rest } : user);
  }
}
