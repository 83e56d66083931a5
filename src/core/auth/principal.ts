/**
 * Who calls the server and what they may do in a project (issue 17, contract S16-P17). Pure: the daemon's router
 * resolves a principal from the bearer token and asks `allows` before it routes a project's request.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ProjectRecord, ProjectRole, UserRecord } from '../state/schema.js';

export interface Principal {
  user: string;
  globalRole: 'admin' | 'user';
}

/** read: list/get/logs/events; write: apply/stop/fleets/secret names; manage: members, secret values, deleting the project. */
export type ProjectAction = 'read' | 'write' | 'manage';

export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const HASH_BYTES = 32;

/**
 * Every user's hash is compared, with no early exit, so the time taken says nothing about which users exist or
 * how close a guess came. A stored hash of the wrong shape never matches (and costs the same comparison).
 */
export function resolvePrincipal(token: string | undefined, users: readonly UserRecord[]): Principal | undefined {
  if (token === undefined || token === '') return undefined;
  const presented = Buffer.from(tokenHash(token), 'hex');
  let found: UserRecord | undefined;
  for (const u of users) {
    const stored = Buffer.from(u.tokenHash, 'hex');
    const wellFormed = stored.length === HASH_BYTES;
    const equal = timingSafeEqual(presented, wellFormed ? stored : presented);
    if (equal && wellFormed && found === undefined) found = u;
  }
  return found ? { user: found.name, globalRole: found.globalRole } : undefined;
}

/** A global admin is admin of every existing project; otherwise the member's role, or undefined for none. */
export function projectRole(p: Principal, project: ProjectRecord | undefined): ProjectRole | undefined {
  if (!project) return undefined;
  if (p.globalRole === 'admin') return 'admin';
  return project.members.find((m) => m.user === p.user)?.role;
}

/** user: read and write; manager and admin: everything (only an admin deletes the project: canDeleteProject). */
export function allows(role: ProjectRole | undefined, action: ProjectAction): boolean {
  if (role === undefined) return false;
  if (action === 'manage') return role === 'admin' || role === 'manager';
  return true;
}

/** The one thing a manager may not do in its project. */
export function canDeleteProject(role: ProjectRole | undefined): boolean {
  return role === 'admin';
}
