/**
 * The web dashboard on the daemon's listener (DESIGN.md §2): `GET /` (and `/ui/`) answers index.html, `/ui/app.<hash>.js`
 * and `.css` the bundle. The page itself needs no token; every figure on it comes from `/api/*` with the admin token
 * the user types in. The bundle is imported on the first dashboard request, so neither the CLI nor a daemon nobody
 * browses ever evaluates it.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { WebAssets } from '../../web/assets.js';
import { isDashboardPath } from '../../core/api.js';

export interface DashboardOptions {
  /** The built bundle; absent (a daemon run from source) = 503 with the build command. */
  load?: () => Promise<WebAssets | undefined>;
}

interface StaticFile {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
  cache: string;
}

// Everything from this origin only: no inline script or style, no frames, no plugins (CSP Level 3 §6).
export const DASHBOARD_CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

const SECURITY_HEADERS = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

// A small mark so browsers do not ask for /favicon.ico and log a 404 on every page.
const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#3b6fe0"/><path d="M4 4h4a4 4 0 0 1 0 8H4z" fill="#fff"/></svg>';


function file(type: string, text: string, cache: string): StaticFile {
  const body = Buffer.from(text, 'utf8');
  return { type, body, gzip: gzipSync(body, { level: 9 }), etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`, cache };
}

const hashOf = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

/** index.html and the hashed asset names it points at (hashed names can be cached for good). */
export function dashboardFiles(assets: WebAssets): Map<string, StaticFile> {
  const js = `/ui/app.${hashOf(assets.js)}.js`;
  const css = `/ui/app.${hashOf(assets.css)}.css`;
  const html = [
    '<!doctype html>',
    '<html lang="en">',
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark"><title>dstack</title>',
    `<link rel="icon" href="/ui/favicon.svg" type="image/svg+xml"><link rel="stylesheet" href="${css}">`,
    `<script type="module" src="${js}"></script></head>`,
    '<body><div id="app"></div></body>',
    '</html>',
  ].join('\n');
  const forever = 'public, max-age=31536000, immutable';
  // index.html is revalidated every time so a daemon upgrade shows its new bundle at once.
  const index = file('text/html; charset=utf-8', html, 'no-cache');
  return new Map([
    ['/', index],
    ['/index.html', index],
    ['/ui', index],
    ['/ui/', index],
    [js, file('text/javascript; charset=utf-8', assets.js, forever)],
    [css, file('text/css; charset=utf-8', assets.css, forever)],
    ['/ui/favicon.svg', file('image/svg+xml', FAVICON, 'public, max-age=86400')],
  ]);
}

const defaultLoad = async (): Promise<WebAssets | undefined> => (await import('../../web/assets.js')).WEB_ASSETS;

/** Returns false for paths that are not the dashboard's, so the listener's 404 answers them. */
export function createDashboard(o: DashboardOptions = {}): (req: IncomingMessage, res: ServerResponse) => boolean {
  let files: Promise<Map<string, StaticFile> | undefined> | undefined;
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (!isDashboardPath(path)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return true;
    }
    files ??= (o.load ?? defaultLoad)().then((a) => (a ? dashboardFiles(a) : undefined));
    void files.then(
      (all) => serve(req, res, all, path),
      () => res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('the dashboard bundle could not be loaded\n'),
    );
    return true;
  };
}

function serve(req: IncomingMessage, res: ServerResponse, all: Map<string, StaticFile> | undefined, path: string): void {
  if (!all) {
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end('the dashboard is not built into this daemon: run `npm run build`\n');
    return;
  }
  const f = all.get(path);
  if (!f) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end('not found\n');
    return;
  }
  const headers: Record<string, string | number> = { ...SECURITY_HEADERS, 'content-type': f.type, 'cache-control': f.cache, etag: f.etag, vary: 'accept-encoding' };
  if (req.headers['if-none-match'] === f.etag) {
    res.writeHead(304, headers).end();
    return;
  }
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gzip ? f.gzip : f.body;
  res.writeHead(200, { ...headers, ...(gzip ? { 'content-encoding': 'gzip' } : {}), 'content-length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}
