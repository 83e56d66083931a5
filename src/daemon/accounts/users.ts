/**
 * Users of the server (issue 17): created, listed and deleted by a global admin only. A new user's token is made
 * here and answered once; only its sha256 is stored, so neither the state nor the log can ever show it again.
 */
import { randomBytes } from 'node:crypto';
import type { CreateUserResult, UserView } from '../../core/api.js';
import { tokenHash, type Principal } from '../../core/auth/principal.js';
import { checkAccountName } from '../../core/auth/names.js';
import { UserError } from '../../core/errors.js';
import type { GlobalRole, UserRecord } from '../../core/state/schema.js';
import type { StateStore } from '../../core/state/store.js';

export const userView = (u: UserRecord): UserView => ({ name: u.name, globalRole: u.globalRole, createdAt: u.createdAt });

/** 32 random bytes: as strong as the sha256 that stands for it. */
export const newUserToken = (): string => randomBytes(32).toString('base64url');

export function forbidden(message: string, hint?: string): UserError {
  return new UserError('FORBIDDEN', message, { status: 403, ...(hint ? { hint } : {}) });
}

function requireGlobalAdmin(p: Principal): void {
  if (p.globalRole !== 'admin') throw forbidden(`user ${p.user} is not a global admin: only a global admin manages users`);
}

export function userNotFound(name: string): UserError {
  return new UserError('USER_NOT_FOUND', `user ${name} not found`, { status: 404, hint: 'See `dstack user list`.' });
}

export function listUsers(store: StateStore, p: Principal): UserView[] {
  requireGlobalAdmin(p);
  return store.users().map(userView);
}

export function createUser(store: StateStore, clock: () => number, p: Principal, req: { name: string; globalRole: GlobalRole }): CreateUserResult {
  requireGlobalAdmin(p);
  const name = checkAccountName('user', req.name);
  if (store.user(name)) throw new UserError('ALREADY_EXISTS', `user ${name} already exists`, { status: 409 });
  const token = newUserToken();
  const record: UserRecord = { name, globalRole: req.globalRole, tokenHash: tokenHash(token), createdAt: clock() };
  store.putUser(record);
  return { user: userView(record), token };
}

/** Takes the user out of every project too; refused while the user is the only admin of a project. */
export function deleteUser(store: StateStore, p: Principal, name: string): UserView {
  requireGlobalAdmin(p);
  if (name === p.user) throw new UserError('CANNOT_DELETE_SELF', `user ${name} cannot delete themselves`, { status: 409, hint: 'Another global admin can.' });
  const user = store.user(name);
  if (!user) throw userNotFound(name);
  const orphaned = store.projects().filter((pr) => {
    const admins = pr.members.filter((m) => m.role === 'admin');
    return admins.length === 1 && admins[0]?.user === name;
  });
  if (orphaned.length > 0) {
    const names = orphaned.map((pr) => pr.name).join(', ');
    throw new UserError('LAST_ADMIN', `user ${name} is the last admin of project${orphaned.length > 1 ? 's' : ''} ${names}`, {
      status: 409,
      hint: 'Make another member admin of it first (`dstack project member add PROJECT USER --role admin`), or delete the project.',
    });
  }
  store.transaction((tx) => {
    tx.removeUser(name);
    for (const pr of tx.projects()) {
      if (pr.members.some((m) => m.user === name)) tx.putProject({ ...pr, members: pr.members.filter((m) => m.user !== name) });
    }
  });
  return userView(user);
}
