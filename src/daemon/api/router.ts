/**
 * The control API router: exactly the routes of src/core/api.ts, all behind the admin token except
 * /api/health. `/metrics` (admin token too) goes to an optional handler (src/daemon/api/metrics.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { ApplyRequest, CatalogRefreshRequest, FleetApplyRequest, FleetPlanRequest, PlanRequest, SetSecretRequest, type Health, type RunMetrics } from '../../core/api.js';
import { attachInfoOf } from '../../core/attach/info.js';
import { UserError } from '../../core/errors.js';
import { parseOfferQuery } from '../../core/catalog/query.js';
import type { ControlPlane } from '../runs/control.js';
import type { SecretsControl } from '../secrets/control.js';
import type { RunEvents } from './events.js';
import type { FleetManager } from '../fleets/fleets.js';
import { streamFleetEvents, streamRunEvents } from './view-events.js';
import { adminAuthorized, readJson, sendError, sendJson } from './http.js';

export interface ControlApiOptions {
  control: ControlPlane;
  events: RunEvents;
  /** SSH fleets; absent = the fleet routes answer 501. */
  fleets?: { manager: FleetManager; events: RunEvents };
  /** Project secrets; absent = the secret routes answer 404. */
  secrets?: SecretsControl;
  adminToken: () => string;
  health: () => Health;
  metrics?: (req: IncomingMessage, res: ServerResponse) => void;
  /** `dstack metrics`: a run's replicas sampled by their agents (run-metrics.ts); absent = 501. */
  runMetrics?: (name: string) => Promise<RunMetrics>;
  log: (line: string) => void;
  /** Resolves once state is on disk: a change is answered only after it is saved (a crash then loses nothing). */
  saved?: () => Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, params: string[], url: URL) => Promise<void> | void;

export function createControlApi(o: ControlApiOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { control } = o;
  const saved = async <T>(result: T | Promise<T>): Promise<T> => {
    const value = await result;
    await o.saved?.();
    return value;
  };
  const routes: [string, RegExp, Handler][] = [
    ['POST', /^\/api\/runs\/plan$/, async (req, res) => sendJson(res, 200, await control.plan(parse(PlanRequest, await readJson(req))))],
    ['POST', /^\/api\/runs\/apply$/, async (req, res) => sendJson(res, 200, await saved(control.apply(parse(ApplyRequest, await readJson(req)))))],
    ['GET', /^\/api\/runs$/, (_req, res, _p, url) => sendJson(res, 200, { runs: control.list(flag(url, 'all')) })],
    ['GET', /^\/api\/runs\/([^/]+)$/, (_req, res, [name]) => sendJson(res, 200, control.get(name!))],
    ['POST', /^\/api\/runs\/([^/]+)\/stop$/, async (req, res, [name]) => {
      const body = (await readJson(req)) as { abort?: unknown };
      sendJson(res, 200, await saved(control.stop(name!, body.abort === true)));
    }],
    ['GET', /^\/api\/runs\/([^/]+)\/logs$/, async (req, res, [name], url) => {
      const replica = Number(url.searchParams.get('replica') ?? '0');
      const since = url.searchParams.get('since');
      const abort = new AbortController();
      res.on('close', () => abort.abort());
      const stream = await control.logs(name!, {
        replica: Number.isInteger(replica) ? replica : 0,
        follow: flag(url, 'follow'),
        ...(since !== null && since !== '' ? { since: Number(since) } : {}),
        signal: abort.signal,
      });
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      await pipeline(stream, res).catch(() => undefined);
    }],
    ['GET', /^\/api\/runs\/([^/]+)\/events$/, (req, res, [name]) => streamRunEvents(req, res, control, o.events, name!)],
    ['GET', /^\/api\/runs\/([^/]+)\/metrics$/, async (_req, res, [name]) => {
      if (!o.runMetrics) throw new UserError('NOT_SUPPORTED_YET', 'run metrics are not available on this daemon', { status: 501 });
      sendJson(res, 200, await o.runMetrics(name!));
    }],
    // The tunnel itself is the same path with `Upgrade: dstack-attach` (attach.ts, on the server's upgrade event).
    ['GET', /^\/api\/runs\/([^/]+)\/attach$/, (_req, res, [name], url) => sendJson(res, 200, attachInfoOf(control.findRun(name!), replicaQuery(url)))],
    ['GET', /^\/api\/offers$/, async (_req, res, _p, url) => sendJson(res, 200, await control.offers(parseOfferQuery(url.searchParams)))],
    ['POST', /^\/api\/catalog\/refresh$/, async (req, res) => sendJson(res, 200, await control.refreshCatalog(parse(CatalogRefreshRequest, await readJson(req))))],
  ];
  const f = o.fleets;
  if (f) {
    routes.push(
      ['POST', /^\/api\/fleets\/plan$/, async (req, res) => sendJson(res, 200, await f.manager.plan(parse(FleetPlanRequest, await readJson(req))))],
      ['POST', /^\/api\/fleets\/apply$/, async (req, res) => sendJson(res, 200, await saved(f.manager.apply(parse(FleetApplyRequest, await readJson(req)))))],
      ['GET', /^\/api\/fleets$/, (_req, res, _p, url) => sendJson(res, 200, { fleets: f.manager.list(flag(url, 'all')) })],
      ['GET', /^\/api\/fleets\/([^/]+)\/events$/, (req, res, [name]) => streamFleetEvents(req, res, f.manager, f.events, name!)],
      ['GET', /^\/api\/fleets\/([^/]+)$/, (_req, res, [name]) => sendJson(res, 200, f.manager.get(name!))],
      // `?force=1` takes hosts out even while runs have replicas there.
      ['DELETE', /^\/api\/fleets\/([^/]+)$/, async (_req, res, [name], url) => sendJson(res, 200, await saved(f.manager.delete(name!, flag(url, 'force'))))],
    );
  }

  const secrets = o.secrets;
  if (secrets) {
    routes.push(
      ['GET', /^\/api\/secrets$/, (_req, res) => sendJson(res, 200, { secrets: secrets.list() })],
      ['GET', /^\/api\/secrets\/([^/]+)$/, (_req, res, [name]) => sendJson(res, 200, secrets.get(name!))],
      ['PUT', /^\/api\/secrets\/([^/]+)$/, async (req, res, [name]) => sendJson(res, 200, await secrets.set(name!, parse(SetSecretRequest, await readJson(req)).value))],
      ['DELETE', /^\/api\/secrets\/([^/]+)$/, async (_req, res, [name]) => sendJson(res, 200, await secrets.delete(name!))],
    );
  }

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    void (async () => {
      if (req.method === 'GET' && path === '/api/health') return sendJson(res, 200, o.health());
      if (!adminAuthorized(req, o.adminToken())) {
        throw new UserError('UNAUTHORIZED', 'missing or wrong admin token', {
          status: 401,
          hint: 'The CLI reads the token from DSTACK_HOME/config.yml.',
        });
      }
      if (path === '/metrics') {
        if (o.metrics && req.method === 'GET') return o.metrics(req, res);
        throw new UserError('NOT_FOUND', 'no metrics handler', { status: 404 });
      }
      let pathMatched = false;
      for (const [method, pattern, handler] of routes) {
        const m = pattern.exec(path);
        if (!m) continue;
        pathMatched = true;
        if (method !== req.method) continue;
        return await handler(req, res, m.slice(1).map(decodeURIComponent), url);
      }
      if (/^\/api\/fleets/.test(path)) throw new UserError('NOT_SUPPORTED_YET', 'fleets are not supported yet', { status: 501 });
      throw new UserError(pathMatched ? 'METHOD_NOT_ALLOWED' : 'NOT_FOUND', `${req.method} ${path} is not a control API route`, {
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
