/**
 * `/proxy/models/<project>/[v1/]…`: one OpenAI-compatible endpoint for every model the project's services
 * publish (dstack-notes §4.3). Auth is always on. A request is read only as far as routing needs (its `model`);
 * `format: openai` replicas get it untouched, `format: tgi` replicas get it through the TGI adapter.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authenticate, Forwarder, ModelRegistry } from '../contracts.js';
import { abortOnClientClose, writeJson } from './http-io.js';
import { hasAmbiguousAuthorization } from './headers.js';
import { listModels, retrieveModel } from './list.js';
import { ModelsApiError, invalidRequest, toModelsApiError } from './openai-errors.js';
import { noteFailedLogin } from '../http/login-limiter.js';
import { serveOpenAI } from './openai-passthrough.js';
import { inspectBody, readBody } from './request-body.js';
import { parseModelsUrl, type ModelsEndpoint } from './routes.js';
import { serveTgi } from './tgi/adapter.js';
import { createChatTemplateRenderer, type RenderChat } from './tgi/template.js';

export interface ModelsHandlerOptions {
  registry: ModelRegistry;
  forward: Forwarder;
  authenticate: Authenticate;
  /** Milliseconds since the epoch; `created` of TGI completions. */
  clock?: () => number;
  /** In [0, 1); completion ids of TGI answers. */
  random?: () => number;
}

export type ModelsHandler = (req: IncomingMessage, res: ServerResponse) => void;

interface Deps extends Required<ModelsHandlerOptions> {
  render: RenderChat;
}

export function createModelsHandler(options: ModelsHandlerOptions): ModelsHandler {
  const deps: Deps = { clock: Date.now, random: Math.random, ...options, render: createChatTemplateRenderer() };
  return (req, res) => {
    handle(deps, req, res).catch((err: unknown) => answerError(res, toModelsApiError(err)));
  };
}

async function handle(deps: Deps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const route = parseModelsUrl(req.url ?? '/');
  if (!route) throw new ModelsApiError(404, 'Not found: use /proxy/models/<project>/v1/…', undefined, 'unknown_url');
  if (hasAmbiguousAuthorization(req.rawHeaders)) {
    throw new ModelsApiError(400, 'More than one Authorization header', 'invalid_request_error', 'ambiguous_authorization');
  }
  const token = bearerToken(req.headers.authorization);
  const verdict = deps.authenticate(route.project, token);
  if (verdict !== 'ok') {
    if (verdict === 'unknown' && token !== undefined) noteFailedLogin(req);
    throw new ModelsApiError(401, `Invalid or missing token for project ${route.project}: pass a dstack token of a project member as the API key`, 'authentication_error', 'invalid_api_key');
  }
  const endpoint = route.endpoint;
  if (!endpoint) throw new ModelsApiError(404, `Unknown endpoint ${route.subpath}`, undefined, 'unknown_url');
  const method = req.method ?? 'GET';
  const expected = endpoint.kind === 'list' || endpoint.kind === 'retrieve' ? 'GET' : 'POST';
  if (method !== expected) throw new ModelsApiError(405, `${route.subpath} accepts ${expected}, not ${method}`, 'invalid_request_error', 'method_not_allowed');
  if (endpoint.kind === 'list') return writeJson(res, 200, listModels(deps.registry, route.project));
  if (endpoint.kind === 'retrieve') return writeJson(res, 200, retrieveModel(deps.registry, route.project, endpoint.model));
  await serveGeneration(deps, req, res, endpoint, route.project, route.subpath + route.query);
}

async function serveGeneration(deps: Deps, req: IncomingMessage, res: ServerResponse, endpoint: ModelsEndpoint, project: string, subpath: string): Promise<void> {
  const body = inspectBody(await readBody(req));
  const entry = deps.registry.find(project, body.model);
  if (!entry) throw new ModelsApiError(404, `Model ${body.model} not found in project ${project}`, 'invalid_request_error', 'model_not_found', 'model');
  const abort = abortOnClientClose(req, res);
  try {
    if (entry.format === 'openai') {
      return await serveOpenAI({ forward: deps.forward, entry, req, res, subpath, body: body.raw, signal: abort.signal });
    }
    if (endpoint.kind === 'embeddings') throw invalidRequest(`Model ${entry.name} (format: tgi) does not serve embeddings`, 'model', 'unsupported_endpoint');
    const kind = endpoint.kind === 'chat' ? 'chat' : 'completions';
    await serveTgi({ ...deps, entry, kind, body: body.json, res, signal: abort.signal });
  } finally {
    abort.dispose();
  }
}

function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

/** Before the headers: an HTTP error in OpenAI's shape. After them (a pass-through that broke): cut the response. */
function answerError(res: ServerResponse, err: ModelsApiError): void {
  if (res.destroyed) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  writeJson(res, err.status, err.toBody(), err.status === 401 ? { 'www-authenticate': 'Bearer' } : {});
}
