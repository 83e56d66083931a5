/**
 * The users and projects routes of the control API (issue 17; contract S16-P17, route list in src/core/api.ts).
 * The router resolves the caller first and hands every request here; what is not one of these routes answers
 * false and goes on to the router's other routes (a project's runs, fleets and secrets included).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { AddMemberRequest, CreateProjectRequest, CreateUserRequest } from '../../core/api.js';
import type { Principal } from '../../core/auth/principal.js';
import { DstackError, UserError } from '../../core/errors.js';
import type { StateStore } from '../../core/state/store.js';
import { addMember, createProject, deleteProject, listProjects, projectFor, projectView, removeMember } from '../accounts/projects.js';
import { createUser, deleteUser, listUsers } from '../accounts/users.js';
import { readJson, sendJson } from './http.js';

export interface AccountsApiOptions {
  store: StateStore;
  /** Resolves once state is durable: a change is answered only after it is saved. */
  saved: () => Promise<void>;
  clock: () => number;
  /** The server's default project (config.yml `default_project`), which cannot be deleted; absent = no such guard. */
  defaultProject?: () => string;
  /** config.yml's user and projects: a config.yml project deleted through the API stays deleted. */
  config?: () => { user: string; projects: readonly string[] };
  /** A project's secrets: removed once its deletion is saved, and before a project of that name is made again. */
  secretsOf?: (project: string) => { purge(): Promise<unknown> } | undefined;
}

export interface AccountsRequest {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  principal: Principal;
}

type Handler = (c: AccountsRequest, params: string[]) => Promise<unknown>;
type Route = [method: string, pattern: RegExp, handler: Handler];

export function createAccountsApi(o: AccountsApiOptions): (ctx: AccountsRequest) => Promise<boolean> {
  const { store, clock } = o;
  const changed = async <T>(value: T): Promise<T> => {
    await o.saved();
    return value;
  };
  const routes: Route[] = [
    ['GET', /^\/api\/me$/, async ({ principal }) => ({ user: principal.user, globalRole: principal.globalRole })],
    ['GET', /^\/api\/users$/, async ({ principal }) => ({ users: listUsers(store, principal) })],
    ['POST', /^\/api\/users$/, async (c) => changed(createUser(store, clock, c.principal, parse(CreateUserRequest, await readJson(c.req))))],
    ['DELETE', /^\/api\/users\/([^/]+)$/, async (c, [name]) => changed(deleteUser(store, c.principal, name!))],
    ['GET', /^\/api\/projects$/, async ({ principal }) => ({ projects: listProjects(store, principal) })],
    ['POST', /^\/api\/projects$/, async (c) => {
      const view = await changed(createProject(store, clock, c.principal, parse(CreateProjectRequest, await readJson(c.req)).name));
      // Secrets left under the name (a deletion cut short, or made before deletions took them) are not the new project's.
      await o.secretsOf?.(view.name)?.purge();
      return view;
    }],
    ['GET', /^\/api\/projects\/([^/]+)$/, async ({ principal }, [name]) => {
      const { project, role } = projectFor(store, principal, name!, 'read');
      return projectView(project, role);
    }],
    ['DELETE', /^\/api\/projects\/([^/]+)$/, async (c, [name]) => {
      // Reached before the record goes: afterwards no scope of the name exists to reach them through.
      const secrets = store.project(name!) ? o.secretsOf?.(name!) : undefined;
      const view = await changed(deleteProject(store, c.principal, name!, { defaultProject: o.defaultProject?.(), config: o.config?.() }));
      // After the state: a failure here leaves secrets that the next project of the name purges, never a project without them.
      await secrets?.purge();
      return view;
    }],
    ['GET', /^\/api\/projects\/([^/]+)\/members$/, async ({ principal }, [name]) => ({ members: projectFor(store, principal, name!, 'read').project.members })],
    ['POST', /^\/api\/projects\/([^/]+)\/members$/, async (c, [name]) => changed(addMember(store, c.principal, name!, parse(AddMemberRequest, await readJson(c.req))))],
    ['DELETE', /^\/api\/projects\/([^/]+)\/members\/([^/]+)$/, async (c, [name, user]) => changed(removeMember(store, c.principal, name!, user!))],
  ];

  return async (c) => {
    let pathMatched = false;
    for (const [method, pattern, handler] of routes) {
      const m = pattern.exec(c.path);
      if (!m) continue;
      pathMatched = true;
      if (method !== c.method) continue;
      try {
        sendJson(c.res, 200, await handler(c, m.slice(1).map(decodeSegment)));
      } catch (e) {
        // Answered here, so the contract holds however the router calls it; anything else is the router's to log.
        if (!(e instanceof DstackError) || e.status >= 500) throw e;
        sendJson(c.res, e.status, e.toWire());
      }
      return true;
    }
    if (!pathMatched) return false;
    sendJson(c.res, 405, new UserError('METHOD_NOT_ALLOWED', `${c.method} ${c.path} is not a control API route`, { status: 405 }).toWire());
    return true;
  };
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new UserError('INVALID_REQUEST', `invalid URL encoding in ${JSON.stringify(s)}`);
  }
}

function parse<S extends z.ZodTypeAny>(schema: S, body: unknown): z.output<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data as z.output<S>;
  const first = r.error.issues[0];
  throw new UserError('INVALID_REQUEST', `invalid request body: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid'}`);
}
