/**
 * The control API router: the routes of src/core/api.ts. Every route but /api/health resolves the caller
 * (scope-access.ts); the users and projects routes come first (accounts.ts), then a project's routes, under
 * `/api/projects/<p>/...` or unprefixed for the default project, each with the action it needs there (read, write,
 * manage). `/metrics` (global admins only) goes to an optional handler (src/daemon/api/metrics.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { ApplyRequest, CatalogRefreshRequest, FleetApplyRequest, FleetPlanRequest, PlanRequest, SetSecretRequest, type Health, type RunMetrics } from '../../core/api.js';
import { attachInfoOf } from '../../core/attach/info.js';
import type { Principal, ProjectAction } from '../../core/auth/principal.js';
import { UserError } from '../../core/errors.js';
import { parseOfferQuery } from '../../core/catalog/query.js';
import type { ControlPlane } from '../runs/control.js';
import type { SecretsControl } from '../secrets/control.js';
import type { RunEvents } from './events.js';
import type { FleetManager } from '../fleets/fleets.js';
import { streamFleetEvents, streamRunEvents } from './view-events.js';
import { readJson, sendError, sendJson } from './http.js';
import { authorize, principalOf, splitProject, type AccessOptions } from './scope-access.js';

/** One project's part of the API. */
export interface ControlScope {
  control: ControlPlane;
  /** SSH fleets; absent = the fleet routes answer 501. */
  fleets?: { manager: FleetManager; events: RunEvents };
  /** Project secrets; absent = the secret routes answer 404. */
  secrets?: SecretsControl;
  /** `dstack metrics`: a run's replicas sampled by their agents (run-metrics.ts); absent = 501. */
  runMetrics?: (name: string) => Promise<RunMetrics>;
  /** The dashboard's plots: the run's last hour (run-history.ts); absent = 501. */
  history?: (name: string, url: URL, res: ServerResponse) => void;
}

export interface ControlApiOptions extends AccessOptions<ControlScope> {
  events: RunEvents;
  /** The users and projects routes (accounts.ts): true when it answered. */
  accounts?: (ctx: { req: IncomingMessage; res: ServerResponse; method: string; path: string; principal: Principal }) => Promise<boolean>;
  /** Code archives uploaded by remote CLIs (archives.ts): true when it answered. */
  archives?: (ctx: { req: IncomingMessage; res: ServerResponse; method: string; path: string; principal: Principal }) => Promise<boolean>;
  health: () => Health;
  metrics?: (req: IncomingMessage, res: ServerResponse) => void;
  log: (line: string) => void;
  /** Resolves once state is on disk: a change is answered only after it is saved (a crash then loses nothing). */
  saved?: () => Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, params: string[], url: URL, scope: ControlScope, principal: Principal) => Promise<void> | void;
type Route = [method: string, pattern: RegExp, action: ProjectAction, handler: Handler];

const fleetsOf = (scope: ControlScope) => {
  if (!scope.fleets) throw new UserError('NOT_SUPPORTED_YET', 'fleets are not supported yet', { status: 501 });
  return scope.fleets;
};
const secretsOf = (scope: ControlScope) => {
  if (!scope.secrets) throw new UserError('NOT_FOUND', 'this server has no secrets', { status: 404 });
  return scope.secrets;
};

export function createControlApi(o: ControlApiOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const saved = async <T>(result: T | Promise<T>): Promise<T> => {
    const value = await result;
    await o.saved?.();
    return value;
  };
  const routes: Route[] = [
    ['POST', /^\/api\/runs\/plan$/, 'write', async (req, res, _p, _u, s, who) => sendJson(res, 200, await s.control.plan(parse(PlanRequest, await readJson(req)), who.user))],
    ['POST', /^\/api\/runs\/apply$/, 'write', async (req, res, _p, _u, s, who) => sendJson(res, 200, await saved(s.control.apply(parse(ApplyRequest, await readJson(req)), who.user)))],
    ['GET', /^\/api\/runs$/, 'read', (_req, res, _p, url, s) => sendJson(res, 200, { runs: s.control.list(flag(url, 'all')) })],
    ['GET', /^\/api\/runs\/([^/]+)$/, 'read', (_req, res, [name], _u, s) => sendJson(res, 200, s.control.get(name!))],
    ['POST', /^\/api\/runs\/([^/]+)\/stop$/, 'write', async (req, res, [name], _u, s) => {
      const body = (await readJson(req)) as { abort?: unknown };
      sendJson(res, 200, await saved(s.control.stop(name!, body.abort === true)));
    }],
    ['POST', /^\/api\/runs\/([^/]+)\/restart$/, 'write', async (_req, res, [name], _u, s, who) => sendJson(res, 200, await saved(s.control.restart(name!, who.user)))],
    ['GET', /^\/api\/runs\/([^/]+)\/logs$/, 'read', async (req, res, [name], url, s) => {
      const replica = Number(url.searchParams.get('replica') ?? '0');
      const since = url.searchParams.get('since');
      const abort = new AbortController();
      res.on('close', () => abort.abort());
      const stream = await s.control.logs(name!, {
        replica: Number.isInteger(replica) ? replica : 0,
        follow: flag(url, 'follow'),
        ...(since !== null && since !== '' ? { since: Number(since) } : {}),
        signal: abort.signal,
      });
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      await pipeline(stream, res).catch(() => undefined);
    }],
    ['GET', /^\/api\/runs\/([^/]+)\/events$/, 'read', (req, res, [name], _u, s) => streamRunEvents(req, res, s.control, o.events, name!)],
    ['GET', /^\/api\/runs\/([^/]+)\/metrics$/, 'read', async (_req, res, [name], _u, s) => {
      if (!s.runMetrics) throw new UserError('NOT_SUPPORTED_YET', 'run metrics are not available on this daemon', { status: 501 });
      sendJson(res, 200, await s.runMetrics(name!));
    }],
    ['GET', /^\/api\/runs\/([^/]+)\/history$/, 'read', (_req, res, [name], url, s) => {
      if (!s.history) throw new UserError('NOT_SUPPORTED_YET', 'run history is not available on this daemon', { status: 501 });
      s.history(name!, url, res);
    }],
    // The tunnel itself is the same path with `Upgrade: dstack-attach` (attach.ts, on the server's upgrade event).
    ['GET', /^\/api\/runs\/([^/]+)\/attach$/, 'read', (_req, res, [name], url, s) => sendJson(res, 200, attachInfoOf(s.control.findRun(name!), replicaQuery(url)))],
    ['GET', /^\/api\/offers$/, 'read', async (_req, res, _p, url, s) => sendJson(res, 200, await s.control.offers(parseOfferQuery(url.searchParams)))],
    ['POST', /^\/api\/catalog\/refresh$/, 'write', async (req, res, _p, _u, s) => sendJson(res, 200, await s.control.refreshCatalog(parse(CatalogRefreshRequest, await readJson(req))))],
    ['POST', /^\/api\/fleets\/plan$/, 'write', async (req, res, _p, _u, s) => sendJson(res, 200, await fleetsOf(s).manager.plan(parse(FleetPlanRequest, await readJson(req))))],
    ['POST', /^\/api\/fleets\/apply$/, 'write', async (req, res, _p, _u, s) => sendJson(res, 200, await saved(fleetsOf(s).manager.apply(parse(FleetApplyRequest, await readJson(req)))))],
    ['GET', /^\/api\/fleets$/, 'read', (_req, res, _p, url, s) => sendJson(res, 200, { fleets: fleetsOf(s).manager.list(flag(url, 'all')) })],
    ['GET', /^\/api\/fleets\/([^/]+)\/events$/, 'read', (req, res, [name], _u, s) => streamFleetEvents(req, res, fleetsOf(s).manager, fleetsOf(s).events, name!)],
    ['GET', /^\/api\/fleets\/([^/]+)$/, 'read', (_req, res, [name], _u, s) => sendJson(res, 200, fleetsOf(s).manager.get(name!))],
    // `?force=1` takes hosts out even while runs have replicas there.
    ['DELETE', /^\/api\/fleets\/([^/]+)$/, 'write', async (_req, res, [name], url, s) => sendJson(res, 200, await saved(fleetsOf(s).manager.delete(name!, flag(url, 'force'))))],
    ['GET', /^\/api\/secrets$/, 'write', (_req, res, _p, _u, s) => sendJson(res, 200, { secrets: secretsOf(s).list() })],
    ['GET', /^\/api\/secrets\/([^/]+)$/, 'manage', (_req, res, [name], _u, s) => sendJson(res, 200, secretsOf(s).get(name!))],
    ['PUT', /^\/api\/secrets\/([^/]+)$/, 'manage', async (req, res, [name], _u, s) => sendJson(res, 200, await secretsOf(s).set(name!, parse(SetSecretRequest, await readJson(req)).value))],
    ['DELETE', /^\/api\/secrets\/([^/]+)$/, 'manage', async (_req, res, [name], _u, s) => sendJson(res, 200, await secretsOf(s).delete(name!))],
  ];

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const full = url.pathname.replace(/\/+$/, '') || '/';
    void (async () => {
      if (req.method === 'GET' && full === '/api/health') return sendJson(res, 200, o.health());
      const principal = principalOf(req, o);
      if (full === '/metrics') {
        if (principal.globalRole !== 'admin') throw new UserError('FORBIDDEN', 'server metrics are for global admins', { status: 403 });
        if (o.metrics && req.method === 'GET') return o.metrics(req, res);
        throw new UserError('NOT_FOUND', 'no metrics handler', { status: 404 });
      }
      if (o.accounts && (await o.accounts({ req, res, method: req.method ?? 'GET', path: full, principal }))) return;
      if (o.archives && (await o.archives({ req, res, method: req.method ?? 'GET', path: full, principal }))) return;
      const { project, path } = splitProject(full);
      let pathMatched = false;
      for (const [method, pattern, action, handler] of routes) {
        const m = pattern.exec(path);
        if (!m) continue;
        pathMatched = true;
        if (method !== req.method) continue;
        const scope = authorize(principal, project, action, o);
        return await handler(req, res, m.slice(1).map(decodeURIComponent), url, scope, principal);
      }
      if (/^\/api\/fleets/.test(path)) throw new UserError('NOT_SUPPORTED_YET', 'fleets are not supported yet', { status: 501 });
      throw new UserError(pathMatched ? 'METHOD_NOT_ALLOWED' : 'NOT_FOUND', `${req.method} ${full} is not a control API route`, {
        status: pathMatched ? 405 : 404,
      });
    })().catch((e) => sendError(res, e, o.log));
  };
}

/** `?replica=N`; absent = dstack's default replica. */
function replicaQuery(url: URL): number | undefined {
  const raw = url.searchParams.get('replica');
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new UserError('INVALID_REQUEST', `replica: expected a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

function flag(url: URL, name: string): boolean {
  const v = url.searchParams.get(name);
  return v !== null && v !== '0' && v !== 'false';
}

function parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } }, body: unknown): T {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const first = r.error.issues[0];
  throw new UserError('INVALID_REQUEST', `invalid request body: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid'}`);
}
