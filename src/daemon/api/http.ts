/**
 * Small HTTP helpers of the control API: JSON bodies in and out, errors as `{code, message, hint}` with the
 * error's status (STYLE.md "Errors"), the admin token compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DstackError, InternalError, UserError } from '../../core/errors.js';
import { noteFailedLogin } from '../../proxy/http/login-limiter.js';

const MAX_BODY = 4 * 1024 * 1024;

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new UserError('BODY_TOO_LARGE', 'request body is larger than 4 MiB', { status: 413 });
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new UserError('INVALID_JSON', 'request body is not valid JSON');
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** Maps any error to the wire shape; unknown errors become INTERNAL_ERROR (details go to the log, not out). */
export function sendError(res: ServerResponse, e: unknown, log: (line: string) => void): void {
  const err = e instanceof DstackError ? e : new InternalError('INTERNAL_ERROR', 'internal error in the dstack server', { cause: e });
  if (!(e instanceof DstackError) || err.status >= 500) log(`API error: ${(e as Error)?.stack ?? e}`);
  const body: Record<string, unknown> = { ...err.toWire() };
  const problems = (e as { problems?: unknown }).problems;
  if (Array.isArray(problems)) body.problems = problems;
  sendJson(res, err.status, body);
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (!presented) return false;
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The admin token check of the control API and attach; a wrong token (not a missing one) counts as a failed login. */
export function adminAuthorized(req: IncomingMessage, expected: string): boolean {
  const presented = bearer(req);
  const ok = tokenMatches(presented, expected);
  if (!ok && presented !== undefined) noteFailedLogin(req);
  return ok;
}

export function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (!h || !/^bearer /i.test(h)) return undefined;
  return h.slice(7).trim() || undefined;
}
