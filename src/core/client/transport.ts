/**
 * One place where HTTP failures become typed errors (STYLE.md "Errors": map foreign errors where they enter).
 * A refused connection before the first byte means "no daemon"; a reset after it means the daemon went away
 * mid-stream. Both name the daemon address and the log file so the user knows where to look.
 * JSON requests use node:http and only streams load undici: undici's parser is WebAssembly, whose background
 * compilation a short command such as `dstack ps` waits for at exit (~300 ms, issue 15).
 */
import { Agent as HttpAgent, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Agent, Dispatcher } from 'undici';
import { DstackError, InternalError, UserError, fromWire } from '../errors.js';
import { isTlsError, keepAliveAgent, requestTo, type DaemonTls } from './tls-trust.js';

export interface TransportOptions {
  /** e.g. `http://127.0.0.1:3000`, or `https://…` */
  origin: string;
  /** For an https origin: the daemon's pinned certificate (tls-trust.ts); default: Node's own verification. */
  tls?: DaemonTls;
  token: string;
  /** Shown in connection errors. */
  logFile?: string;
  /** A server of another machine (`dstack project add`): connection errors name it, not a local daemon to start. */
  remote?: { project: string };
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
  if (typeof code === 'string' && REFUSED.has(code) && !streaming && opts.remote) {
    return new UserError('DAEMON_UNREACHABLE', `No dstack server answers at ${opts.origin} (project ${opts.remote.project})`, {
      cause: e,
      hint: 'Check that the server is up and the URL is right (`dstack project list`).',
    });
  }
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
  if (isTlsError(e)) {
    return new UserError('DAEMON_TLS_FAILED', `The dstack server at ${opts.origin} failed the TLS check (${String((e as { code: unknown }).code)})`, {
      cause: e,
      hint: 'Its certificate is not the one this CLI trusts (daemon.json `tlsCert`, or a valid chain for its hostname).',
    });
  }
  if ((e as { name?: unknown }).name === 'AbortError') return new UserError('ABORTED', 'Request aborted', { cause: e });
  return new InternalError('DAEMON_REQUEST_FAILED', `Request to the dstack daemon at ${opts.origin} failed`, { cause: e });
}

/** A request that did not get its answer in time, in undici's words (mapped as an internal failure, as before). */
function timeoutError(): Error {
  return Object.assign(new Error('Timed out waiting for the dstack daemon'), { code: 'UND_ERR_HEADERS_TIMEOUT' });
}

const JSON_TIMEOUT_MS = 120_000;

export class Transport {
  // A CLI process must not linger on idle keep-alive sockets after its command finished: close() destroys them.
  readonly #http: HttpAgent;
  #agent: Agent | undefined;
  constructor(readonly opts: TransportOptions) {
    this.#http = keepAliveAgent(opts.origin, opts.tls ?? {}, { maxSockets: 4 }) ?? new HttpAgent({ keepAlive: true, maxSockets: 4 });
  }

  /** JSON request; a non-2xx answer becomes the daemon's typed error via `fromWire`. */
  async json<T>(method: Dispatcher.HttpMethod, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const res = await this.#sendJson(method, path, body, signal);
    const text = await readText(res).catch((e: unknown) => {
      throw mapTransportError(e, this.opts, true);
    });
    const parsed = parseJson(text);
    const status = res.statusCode ?? 0;
    if (status >= 400) throw fromWire(parsed, status);
    if (parsed === undefined) throw new InternalError('BAD_DAEMON_RESPONSE', `${method} ${path}: the daemon answered no JSON`);
    return parsed as T;
  }

  /** Streaming request (logs, events): no body timeout, the caller iterates `body`. */
  async stream(path: string, signal?: AbortSignal): Promise<StreamResponse> {
    const res = await this.#stream(path, signal);
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

  /** The status of a HEAD request (200/404 answers; other errors are typed as for `json`). */
  async head(path: string): Promise<number> {
    const res = await this.#send('HEAD', path, {}, (req) => req.end());
    res.resume();
    const status = res.statusCode ?? 0;
    if (status >= 400 && status !== 404) throw fromWire(undefined, status);
    return status;
  }

  /** PUT of `size` raw bytes from `body`; the JSON answer as for `json`. */
  async putBytes<T>(path: string, body: NodeJS.ReadableStream, size: number): Promise<T> {
    const res = await this.#send('PUT', path, { 'content-type': 'application/octet-stream', 'content-length': String(size) }, (req) => void body.pipe(req));
    const parsed = parseJson(await readText(res).catch((e: unknown) => Promise.reject(mapTransportError(e, this.opts, true))));
    if ((res.statusCode ?? 0) >= 400) throw fromWire(parsed, res.statusCode ?? 0);
    return parsed as T;
  }

  async close(): Promise<void> {
    this.#http.destroy();
    await this.#agent?.close();
  }

  #sendJson(method: string, path: string, body: unknown, signal: AbortSignal | undefined): Promise<IncomingMessage> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return this.#send(method, path, payload === undefined ? {} : { 'content-type': 'application/json' }, (req) => req.end(payload), signal);
  }

  #send(method: string, path: string, headers: Record<string, string>, write: (req: ClientRequest) => void, signal?: AbortSignal): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = requestTo(
        `${this.opts.origin}${path}`,
        {
          method,
          agent: this.#http,
          headers: { authorization: `Bearer ${this.opts.token}`, ...headers },
          ...(signal ? { signal } : {}),
        },
        this.opts.tls,
      );
      let answered = false;
      // Covers the wait for headers and, once answered, each pause in the body (undici's headers/body timeouts).
      req.setTimeout(JSON_TIMEOUT_MS, () => req.destroy(timeoutError()));
      req.once('response', (res) => {
        answered = true;
        resolve(res);
      });
      // After the answer, a failure surfaces through the body (readText); an error event is still handled here.
      req.on('error', (e) => {
        if (!answered) reject(mapTransportError(e, this.opts, false));
      });
      write(req);
    });
  }

  async #stream(path: string, signal: AbortSignal | undefined) {
    try {
      // A bundled dynamic import() of a CJS package yields {default: module.exports} (reference/node-packages.md §2).
      const loaded = await import('undici');
      const { Agent, request } = (loaded as unknown as { default?: typeof loaded }).default ?? loaded;
      this.#agent ??= new Agent({ keepAliveTimeout: 1000, connections: 4, ...(this.opts.tls ? { connect: { ...this.opts.tls } } : {}) });
      return await request(`${this.opts.origin}${path}`, {
        method: 'GET',
        dispatcher: this.#agent,
        headers: { authorization: `Bearer ${this.opts.token}` },
        ...(signal ? { signal } : {}),
        bodyTimeout: 0,
        headersTimeout: 0,
      });
    } catch (e) {
      throw mapTransportError(e, this.opts, false);
    }
  }
}

/** The whole body as UTF-8; a connection lost mid-body rejects (res 'error' / 'aborted'). */
function readText(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.once('error', reject);
    res.once('aborted', () => reject(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })));
  });
}

function parseJson(text: string): unknown {
  try {
    return text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
