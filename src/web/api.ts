/**
 * The dashboard's client of the control API: the admin token as a Bearer header on every call (never in a URL), and
 * the API's `{code, message, hint}` errors as ApiError. A 401 anywhere means the token is wrong or was changed:
 * the app then asks for it again.
 */
import { parseSse } from '../core/client/sse.js';
import { scopedPath } from './paths.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export interface Api {
  get<T>(path: string, signal?: AbortSignal): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
  /** `text/event-stream` views, one JSON value per event, until the server ends the stream or `signal` aborts. */
  views<T>(path: string, signal: AbortSignal): AsyncGenerator<T>;
  /** A plain-text stream (logs), chunk by chunk. */
  text(path: string, signal: AbortSignal): AsyncGenerator<string>;
  /**
   * fetch with the token and nothing else: for the model endpoint, whose errors are OpenAI's shape and whose 401
   * (not a member of that project) does not mean the control API token is wrong.
   */
  raw(path: string, init?: RequestInit): Promise<Response>;
}

async function failure(res: Response): Promise<ApiError> {
  const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string; hint?: string };
  return new ApiError(res.status, body.code ?? `HTTP_${res.status}`, body.message ?? res.statusText, body.hint);
}

/** EventSource cannot send an Authorization header, so streams are read with fetch and a ReadableStream. */
export async function* chunks(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** `project`: the picked project; the pages' unscoped paths then go to its routes (paths.ts `scopedPath`). */
export function createApi(token: string, onUnauthorized: () => void, project?: string): Api {
  const call = async (path: string, init: RequestInit = {}): Promise<Response> => {
    const res = await fetch(scopedPath(path, project), { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` }, cache: 'no-store' });
    if (res.ok) return res;
    const err = await failure(res);
    if (res.status === 401) onUnauthorized();
    throw err;
  };
  return {
    get: async (path, signal) => (await call(path, signal ? { signal } : {})).json(),
    post: async (path, body) => (await call(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json(),
    async *views(path, signal) {
      const res = await call(path, { signal, headers: { accept: 'text/event-stream' } });
      if (!res.body) return;
      for await (const e of parseSse(chunks(res.body))) yield JSON.parse(e.data);
    },
    raw: (path, init = {}) => fetch(path, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` }, cache: 'no-store' }),
    async *text(path, signal) {
      const res = await call(path, { signal });
      if (!res.body) return;
      const decoder = new TextDecoder();
      for await (const c of chunks(res.body)) yield decoder.decode(c, { stream: true });
    },
  };
}

/** Checks a token once (the login form): resolves when the API accepts it, whichever projects its user is in. */
export async function checkToken(token: string): Promise<void> {
  const res = await fetch('/api/me', { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' });
  if (!res.ok) throw await failure(res);
}
