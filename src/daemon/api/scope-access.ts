/**
 * Who calls the control API and which project's scope a request reaches (issue 17, contract S16-P17): the principal
 * from the bearer token (every user's hash compared; config.yml's token is the server admin's, so a home without
 * user records yet keeps working), then `/api/projects/<p>/...` to project p and unprefixed `/api/...` to the
 * server's default project, so clients from before projects keep working. 404 PROJECT_NOT_FOUND for no such
 * project, 403 FORBIDDEN when the caller is no member or the role does not allow the action. Shared by the router
 * and the attach upgrade.
 */
import type { IncomingMessage } from 'node:http';
import { allows, projectRole, resolvePrincipal, type Principal, type ProjectAction } from '../../core/auth/principal.js';
import { UserError } from '../../core/errors.js';
import type { ProjectRecord, UserRecord } from '../../core/state/schema.js';
import { noteFailedLogin } from '../../proxy/http/login-limiter.js';
import { bearer, tokenMatches } from './http.js';

export interface AccessOptions<S> {
  users: () => readonly UserRecord[];
  /** config.yml's `token` and `user`: the server admin. */
  adminToken: () => string;
  adminUser: () => string;
  /** A project's record; a configured project without one yet (no members: global admins only). */
  project: (name: string) => ProjectRecord | undefined;
  defaultProject: () => string;
  /** The scope of an existing project. */
  scope: (project: string) => S | undefined;
  /**
   * Whether a token that is no principal's is still one the server knows (config.yml's legacy project tokens, which
   * only the proxy accepts): refusing it is no failed login. Absent = none is.
   */
  knownToken?: (token: string) => boolean;
}

/**
 * The caller, or 401 UNAUTHORIZED; an unknown token (not a missing one, nor a known one) counts as a failed login. A
 * principal refused by a project is answered 403 by `authorize` and never counted: it is no guess.
 */
export function principalOf(req: IncomingMessage, o: Pick<AccessOptions<unknown>, 'users' | 'adminToken' | 'adminUser' | 'knownToken'>): Principal {
  const token = bearer(req);
  const user = resolvePrincipal(token, o.users());
  const admin = tokenMatches(token, o.adminToken());
  if (user) return user;
  if (admin) return { user: o.adminUser(), globalRole: 'admin' };
  if (token !== undefined && o.knownToken?.(token) !== true) noteFailedLogin(req);
  throw new UserError('UNAUTHORIZED', 'missing or unknown token', {
    status: 401,
    hint: 'The CLI reads the token from DSTACK_HOME/config.yml; `dstack user create` gives a user theirs.',
  });
}

const PROJECT_PREFIX = /^\/api\/projects\/([^/]+)(\/.*)$/;

/** `/api/projects/<p>/runs` → p and `/api/runs`; any other path → no project named (the default one). */
export function splitProject(path: string): { project?: string; path: string } {
  const m = PROJECT_PREFIX.exec(path);
  return m ? { project: decodeURIComponent(m[1]!), path: `/api${m[2]!}` } : { path };
}

/** Project `name`'s scope if the principal may do `action` there. */
export function authorize<S>(principal: Principal, name: string | undefined, action: ProjectAction, o: AccessOptions<S>): S {
  const project = name ?? o.defaultProject();
  const record = o.project(project);
  const scope = record ? o.scope(project) : undefined;
  if (!record || !scope) throw new UserError('PROJECT_NOT_FOUND', `Project ${project} not found`, { status: 404, hint: 'See `dstack project list`.' });
  if (!allows(projectRole(principal, record), action)) {
    throw new UserError('FORBIDDEN', `user ${principal.user} may not ${action} in project ${project}`, {
      status: 403,
      hint: 'A project admin or manager adds members: `dstack project member add`.',
    });
  }
  return scope;
}
