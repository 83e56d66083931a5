/**
 * One place where undici failures become typed errors (STYLE.md "Errors": map foreign errors where they enter).
 * A refused connection before the first byte means "no daemon"; a reset after it means the daemon went away
 * mid-stream. Both name the daemon address and the log file so the user knows where to look.
 */
import { Agent, request, type Dispatcher } from 'undici';
import { DstackError, InternalError, UserError, fromWire } from '../errors.js';

export interface TransportOptions {
  /** e.g. `http://127.0.0.1:3000` */
  origin: string;
  token: string;
  /** Shown in connection errors. */
  logFile?: string;
}

export interface StreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<Uint8Array>;
}

const REFUSED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'EADDRNOTAVAIL']);
const LOST = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

export function isConnectionRefused(e: unknown): boolean {
  return e instanceof DstackError && e.code === 'DAEMON_UNREACHABLE';
}

/** Maps a transport failure (never the daemon's own `{code, message}` answers) to a typed error. */
export function mapTransportError(e: unknown, opts: TransportOptions, streaming: boolean): DstackError {
  if (e instanceof DstackError) return e;
  const code = (e as { code?: unknown }).code;
  const where = opts.logFile ? ` See ${opts.logFile}.` : '';
  if (typeof code === 'string' && REFUSED.has(code) && !streaming) {
    return new UserError('DAEMON_UNREACHABLE', `No dstack daemon answers at ${opts.origin}`, {
      cause: e,
      hint: `Start it with \`dstack server\` or run any command again to start it.${where}`,
    });
  }
  if (typeof code === 'string' && (LOST.has(code) || REFUSED.has(code))) {
    return new UserError('DAEMON_CONNECTION_LOST', `Lost the connection to the dstack daemon at ${opts.origin}`, {
      cause: e,
      hint: `The daemon stopped or restarted; running replicas keep running. Run the command again.${where}`,
    });
  }
  if ((e as { name?: unknown }).name === 'AbortError') return new UserError('ABORTED', 'Request aborted', { cause: e });
  return new InternalError('DAEMON_REQUEST_FAILED', `Request to the dstack daemon at ${opts.origin} failed`, { cause: e });
}

export class Transport {
  readonly #agent: Agent;
  constructor(readonly opts: TransportOptions) {
    // A CLI process must not linger on idle keep-alive sockets after its command finished.
    this.#agent = new Agent({ keepAliveTimeout: 1000, connections: 4 });
  }

  /** JSON request; a non-2xx answer becomes the daemon's typed error via `fromWire`. */
  async json<T>(method: Dispatcher.HttpMethod, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const res = await this.#send(method, path, body, signal, false, 120_000);
    const text = await res.body.text().catch((e: unknown) => {
      throw mapTransportError(e, this.opts, true);
    });
    const parsed = parseJson(text);
    if (res.statusCode >= 400) throw fromWire(parsed, res.statusCode);
    if (parsed === undefined) throw new InternalError('BAD_DAEMON_RESPONSE', `${method} ${path}: the daemon answered no JSON`);
    return parsed as T;
  }

  /** Streaming request (logs, events): no body timeout, the caller iterates `body`. */
  async stream(path: string, signal?: AbortSignal): Promise<StreamResponse> {
    const res = await this.#send('GET', path, undefined, signal, true, 0);
    if (res.statusCode >= 400) throw fromWire(parseJson(await res.body.text()), res.statusCode);
    const opts = this.opts;
    const body = (async function* () {
      try {
        for await (const chunk of res.body) yield chunk as Uint8Array;
      } catch (e) {
        if (signal?.aborted) return;
        throw mapTransportError(e, opts, true);
      }
    })();
    return { status: res.statusCode, headers: res.headers, body };
  }

  close(): Promise<void> {
    return this.#agent.close();
  }

  async #send(method: Dispatcher.HttpMethod, path: string, body: unknown, signal: AbortSignal | undefined, streaming: boolean, bodyTimeout: number) {
    try {
      return await request(`${this.opts.origin}${path}`, {
        method,
        dispatcher: this.#agent,
        headers: { authorization: `Bearer ${this.opts.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal ? { signal } : {}),
        bodyTimeout,
        headersTimeout: streaming ? 0 : 120_000,
      });
    } catch (e) {
      throw mapTransportError(e, this.opts, false);
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
