/**
 * Projects and their members (issue 17). Any user may create a project and becomes its admin; members see and
 * act on it as their role allows (core/auth/principal.ts). A project always keeps at least one admin member, and
 * one with active runs or fleets cannot be deleted (their replicas and hosts would be left without an owner).
 * Deleting takes the project's finished runs and fleets with it, so a project made again under the name starts
 * empty (its secrets go too: api/accounts.ts, once the state is saved).
 */
import type { ProjectView } from '../../core/api.js';
import { allows, canDeleteProject, projectRole, type Principal, type ProjectAction } from '../../core/auth/principal.js';
import { checkAccountName } from '../../core/auth/names.js';
import { UserError } from '../../core/errors.js';
import { isRunFinished } from '../../core/reconcile/run-status.js';
import type { ProjectMember, ProjectRecord, ProjectRole } from '../../core/state/schema.js';
import type { StateStore } from '../../core/state/store.js';
import { forgetDeleted, rememberDeleted } from './deleted-projects.js';
import { forbidden, userNotFound } from './users.js';

/** A fleet in a final status holds no hosts any more. */
const FINISHED_FLEET = new Set(['terminated', 'failed']);

export const projectView = (pr: ProjectRecord, role: ProjectRole): ProjectView => ({
  name: pr.name,
  createdAt: pr.createdAt,
  createdBy: pr.createdBy,
  members: pr.members,
  role,
});

/** The project and the caller's role in it, when that role allows `action`: else 404, or 403. */
export function projectFor(store: StateStore, p: Principal, name: string, action: ProjectAction): { project: ProjectRecord; role: ProjectRole } {
  const project = store.project(name);
  if (!project) throw new UserError('PROJECT_NOT_FOUND', `project ${name} not found`, { status: 404, hint: 'See `dstack project list`.' });
  const role = projectRole(p, project);
  if (!allows(role, action)) {
    throw forbidden(role ? `user ${p.user} is a ${role} of project ${name}: not allowed to ${action} it` : `user ${p.user} is not a member of project ${name}`);
  }
  return { project, role: role! };
}

export function listProjects(store: StateStore, p: Principal): ProjectView[] {
  return store.projects().flatMap((pr) => {
    const role = projectRole(p, pr);
    return role ? [projectView(pr, role)] : [];
  });
}

export function createProject(store: StateStore, clock: () => number, p: Principal, name: string): ProjectView {
  checkAccountName('project', name);
  if (store.project(name)) throw new UserError('ALREADY_EXISTS', `project ${name} already exists`, { status: 409 });
  const record: ProjectRecord = { name, createdAt: clock(), createdBy: p.user, members: [{ user: p.user, role: 'admin' }] };
  store.transaction((tx) => {
    tx.putProject(record);
    forgetDeleted(tx, name);
  });
  return projectView(record, 'admin');
}

export interface ProjectDeletion {
  /** The server's default project, which cannot be deleted. */
  defaultProject?: string;
  /** config.yml's user and projects: a config.yml project deleted here stays deleted across restarts. */
  config?: { user: string; projects: readonly string[] };
}

export function deleteProject(store: StateStore, p: Principal, name: string, o: ProjectDeletion = {}): ProjectView {
  const { defaultProject } = o;
  const { project, role } = projectFor(store, p, name, 'manage');
  if (!canDeleteProject(role)) throw forbidden(`user ${p.user} is a ${role} of project ${name}: only its admins can delete it`);
  if (name === defaultProject) {
    throw new UserError('PROJECT_IN_USE', `project ${name} is the server's default project and cannot be deleted`, {
      status: 409,
      hint: 'Requests without a project go to it (config.yml `default_project`).',
    });
  }
  const runs = store.runs().filter((r) => r.project === name && !isRunFinished(r)).map((r) => r.name);
  const fleets = store.fleets().filter((f) => f.project === name && !FINISHED_FLEET.has(f.status)).map((f) => f.name);
  if (runs.length + fleets.length > 0) {
    const parts = [runs.length > 0 ? `runs ${runs.join(', ')}` : '', fleets.length > 0 ? `fleets ${fleets.join(', ')}` : ''].filter(Boolean);
    throw new UserError('PROJECT_IN_USE', `project ${name} still has active ${parts.join(' and ')}`, {
      status: 409,
      hint: 'Stop the runs (`dstack stop`) and delete the fleets (`dstack fleet delete`) first.',
    });
  }
  // One transaction: a failure leaves the project whole, never a project without its history or the reverse.
  store.transaction((tx) => {
    for (const r of tx.runs().filter((x) => x.project === name)) tx.removeRun(r.id);
    for (const f of tx.fleets().filter((x) => x.project === name)) tx.removeFleet(name, f.name);
    tx.removeProject(name);
    if (o.config?.projects.includes(name)) rememberDeleted(tx, o.config.user, name);
  });
  return projectView(project, role);
}

const adminCount = (members: readonly ProjectMember[]) => members.filter((m) => m.role === 'admin').length;

function lastAdmin(project: ProjectRecord, user: string): UserError {
  return new UserError('LAST_ADMIN', `user ${user} is the last admin of project ${project.name}`, {
    status: 409,
    hint: 'Make another member admin first (`dstack project member add PROJECT USER --role admin`).',
  });
}

/** A manager manages users and managers; only an admin grants, changes or takes away the admin role. */
function checkManagerReach(p: Principal, role: ProjectRole, project: ProjectRecord, touched: ProjectRole | undefined, granted?: ProjectRole): void {
  if (role === 'admin' || (touched !== 'admin' && granted !== 'admin')) return;
  throw forbidden(`user ${p.user} is a manager of project ${project.name}: only its admins grant or change the admin role`);
}

/** Adds the user, or gives a member the new role. */
export function addMember(store: StateStore, p: Principal, name: string, req: { user: string; role: ProjectRole }): ProjectView {
  const { project, role } = projectFor(store, p, name, 'manage');
  if (!store.user(req.user)) throw userNotFound(req.user);
  const current = project.members.find((m) => m.user === req.user);
  checkManagerReach(p, role, project, current?.role, req.role);
  if (current?.role === req.role) return projectView(project, role);
  const members = current ? project.members.map((m) => (m.user === req.user ? { user: m.user, role: req.role } : m)) : [...project.members, { user: req.user, role: req.role }];
  if (adminCount(members) === 0) throw lastAdmin(project, req.user);
  const next = { ...project, members };
  store.putProject(next);
  return projectView(next, projectRole(p, next) ?? role);
}

export function removeMember(store: StateStore, p: Principal, name: string, user: string): ProjectView {
  const { project, role } = projectFor(store, p, name, 'manage');
  const current = project.members.find((m) => m.user === user);
  if (!current) throw new UserError('MEMBER_NOT_FOUND', `user ${user} is not a member of project ${name}`, { status: 404 });
  checkManagerReach(p, role, project, current.role);
  const members = project.members.filter((m) => m.user !== user);
  if (adminCount(members) === 0) throw lastAdmin(project, user);
  const next = { ...project, members };
  store.putProject(next);
  return projectView(next, projectRole(p, next) ?? role);
}
