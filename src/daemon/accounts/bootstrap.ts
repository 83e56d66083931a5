/**
 * The accounts config.yml implies (issue 17), made when the daemon opens its state: its `user` as a global admin
 * whose token is config.yml's `token` (the CLI's token keeps working, and a token changed in config.yml takes
 * effect at the next start), and every config.yml project, with that user as its admin, except one deleted through
 * the API (deleted-projects.ts: it stays deleted). Accounts made through the API are left as they are; a project
 * that exists is never changed here.
 */
import { tokenHash } from '../../core/auth/principal.js';
import type { HomeConfig } from '../../core/home/config-file.js';
import type { ProjectRecord, UserRecord } from '../../core/state/schema.js';
import type { StateStore } from '../../core/state/store.js';
import { deletedConfigProjects } from './deleted-projects.js';

export interface EnsuredAccounts {
  /** The config user was created, or its token or role brought in line with config.yml. */
  user: 'created' | 'updated' | 'unchanged';
  /** Projects created for config.yml entries that had no record yet. */
  projects: string[];
}

export function ensureAccounts(store: StateStore, home: Pick<HomeConfig, 'user' | 'token' | 'projects'>, clock: () => number): EnsuredAccounts {
  const hash = tokenHash(home.token);
  return store.transaction((tx) => {
    const existing = tx.user(home.user);
    let user: EnsuredAccounts['user'] = 'unchanged';
    if (!existing) {
      tx.putUser({ name: home.user, globalRole: 'admin', tokenHash: hash, createdAt: clock() });
      user = 'created';
    } else if (existing.tokenHash !== hash || existing.globalRole !== 'admin') {
      const next: UserRecord = { ...existing, globalRole: 'admin', tokenHash: hash };
      tx.putUser(next);
      user = 'updated';
    }
    const projects: string[] = [];
    const deleted = deletedConfigProjects(tx);
    for (const entry of home.projects) {
      // A project on another server (`dstack project add`) is that server's, not this one's.
      if (entry.url !== undefined || tx.project(entry.name) || deleted.has(entry.name)) continue;
      const record: ProjectRecord = { name: entry.name, createdAt: clock(), createdBy: home.user, members: [{ user: home.user, role: 'admin' }] };
      tx.putProject(record);
      projects.push(entry.name);
    }
    return { user, projects };
  });
}
