/**
 * Projects on other dstack servers (issue 17): the client for one, and the check `dstack project add` makes before
 * it writes the entry. TLS is Node's own verification (its CA store plus NODE_EXTRA_CA_CERTS): a remote server is
 * trusted by its chain and hostname, never by turning verification off.
 */
import { Health, MeView, ProjectView } from '../api.js';
import { DstackError, InternalError, UserError } from '../errors.js';
import { DaemonClient } from './daemon-client.js';
import type { ProjectTarget } from './project-target.js';
import { Transport } from './transport.js';

type Remote = Extract<ProjectTarget, { kind: 'remote' }>;

function remoteTransport(t: Pick<Remote, 'project' | 'url' | 'token'>): Transport {
  return new Transport({ origin: t.url, token: t.token, remote: { project: t.project } });
}

/** A client of project `t.project` on its server; never starts anything. */
export async function connectRemote(t: Remote): Promise<DaemonClient> {
  const transport = remoteTransport(t);
  try {
    const health = Health.safeParse(await transport.json('GET', '/api/health'));
    if (!health.success) throw new UserError('NOT_A_DSTACK_SERVER', `${t.url} (project ${t.project}) does not answer as a dstack server`, { hint: 'Check the URL: `dstack project list`.' });
    return new DaemonClient(transport, health.data, t.project);
  } catch (e) {
    await transport.close();
    throw e;
  }
}

/** Who the token is on that server, once it is known to be a member of `project` there; a UserError otherwise. */
export async function checkRemoteProject(t: Pick<Remote, 'project' | 'url' | 'token'>): Promise<{ user: string }> {
  const transport = remoteTransport(t);
  try {
    const me = MeView.safeParse(await transport.json('GET', '/api/me').catch((e: unknown) => rethrow(e, t)));
    if (!me.success) throw new UserError('NOT_A_DSTACK_SERVER', `${t.url} does not answer as a dstack server (GET /api/me)`, { hint: 'Check --url.' });
    const project = await transport.json('GET', `/api/projects/${encodeURIComponent(t.project)}`).catch((e: unknown) => rethrow(e, t, me.data.user));
    if (!ProjectView.safeParse(project).success) throw new InternalError('BAD_DAEMON_RESPONSE', `${t.url}: the project answer does not match the control API`);
    return { user: me.data.user };
  } finally {
    await transport.close();
  }
}

function rethrow(e: unknown, t: Pick<Remote, 'project' | 'url'>, user?: string): never {
  if (!(e instanceof DstackError)) throw e;
  if (e.code === 'UNAUTHORIZED') {
    throw new UserError('REMOTE_TOKEN_REJECTED', `The server at ${t.url} does not accept this token (401)`, { cause: e, hint: 'Pass the token the server gave you with --token (`dstack user create` prints it once).' });
  }
  if (e.code === 'PROJECT_NOT_FOUND' || e.code === 'FORBIDDEN') {
    throw new UserError('REMOTE_PROJECT_NOT_MEMBER', `User ${user ?? '?'} is not a member of a project ${t.project} at ${t.url}`, {
      cause: e,
      hint: 'Check --name, or ask a project admin: `dstack project member add PROJECT USER --role user`.',
    });
  }
  if (e.code === 'HTTP_404') throw new UserError('NOT_A_DSTACK_SERVER', `${t.url} does not answer as a dstack server with projects (404)`, { cause: e, hint: 'Check --url.' });
  throw e;
}
