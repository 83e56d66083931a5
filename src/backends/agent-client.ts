/**
 * HTTP client of `dstack-agent` (contract: src/core/model/agent-api.ts). Errors come back typed: the agent's
 * `{code, message}` bodies through `fromWire`, transport failures as AGENT_UNREACHABLE (mapped here, where they
 * enter, by error code — never by message text).
 */
import type { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { DstackError, InternalError, fromWire } from '../core/errors.js';
import {
  AgentEvent,
  AgentHealth,
  HostInfo,
  ReplicaMetrics,
  ReplicaState,
  type ReplicaSpecInput,
} from '../core/model/agent-api.js';
import { parseSse } from './sse.js';

export interface AgentClientOptions {
  /** e.g. `http://127.0.0.1:10998`. */
  origin: string;
  token: string;
  /** Reaches the agent another way (an SSH tunnel); default: a keep-alive pool owned by this client. */
  dispatcher?: Dispatcher;
  /** Per-request timeout for non-streaming calls. */
  timeoutMs?: number;
}

interface Call {
  method: Dispatcher.HttpMethod;
  path: string;
  body?: unknown;
  /** A raw byte body (code archives), sent as is instead of JSON. */
  upload?: { stream: Readable; bytes: number };
  signal?: AbortSignal;
  stream?: boolean;
  timeoutMs?: number;
}

export class AgentClient {
  readonly origin: string;
  private readonly token: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly timeoutMs: number;

  constructor(options: AgentClientOptions) {
    this.origin = options.origin;
    this.token = options.token;
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher ?? new Pool(options.origin, { connections: 16 });
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  async health(): Promise<AgentHealth> {
    return AgentHealth.parse(await this.json({ method: 'GET', path: '/api/health', timeoutMs: 5_000 }));
  }

  async host(): Promise<HostInfo> {
    return HostInfo.parse(await this.json({ method: 'GET', path: '/api/host' }));
  }

  async createReplica(spec: ReplicaSpecInput): Promise<ReplicaState> {
    return ReplicaState.parse(await this.json({ method: 'POST', path: '/api/replicas', body: spec }));
  }

  async listReplicas(): Promise<ReplicaState[]> {
    const body = (await this.json({ method: 'GET', path: '/api/replicas' })) as { replicas?: unknown };
    return ReplicaState.array().parse(body.replicas ?? []);
  }

  async getReplica(id: string): Promise<ReplicaState> {
    return ReplicaState.parse(await this.json({ method: 'GET', path: `/api/replicas/${encodeURIComponent(id)}` }));
  }

  /** Graceful stop (SIGTERM, `timeoutSeconds`, kill); idempotent on the agent side. */
  async stopReplica(id: string, timeoutSeconds: number): Promise<ReplicaState> {
    const path = `/api/replicas/${encodeURIComponent(id)}?timeout=${Math.max(0, Math.round(timeoutSeconds))}`;
    return ReplicaState.parse(await this.json({ method: 'DELETE', path, timeoutMs: (timeoutSeconds + 30) * 1000 }));
  }

  /** The replica's log as a byte stream (not re-encoded); `follow` keeps it open. */
  async logs(id: string, options: { follow?: boolean; since?: number; signal?: AbortSignal } = {}): Promise<Readable> {
    const q = new URLSearchParams();
    if (options.follow) q.set('follow', '1');
    if (options.since !== undefined) q.set('since', String(options.since));
    const path = `/api/replicas/${encodeURIComponent(id)}/logs${q.size ? `?${q}` : ''}`;
    const call: Call = { method: 'GET', path, stream: true };
    if (options.signal) call.signal = options.signal;
    return (await this.send(call)).body;
  }

  /** CPU, memory and GPUs of a running replica; the agent samples for about a second before it answers. */
  async replicaMetrics(id: string, signal?: AbortSignal): Promise<ReplicaMetrics> {
    const call: Call = { method: 'GET', path: `/api/replicas/${encodeURIComponent(id)}/metrics`, timeoutMs: 15_000 };
    if (signal) call.signal = signal;
    return ReplicaMetrics.parse(await this.json(call));
  }

  /** Whether the host already holds code archive `sha256` (issue 8). */
  async hasArchive(sha256: string): Promise<boolean> {
    try {
      await this.send({ method: 'GET', path: `/api/archives/${encodeURIComponent(sha256)}` }).then((r) => r.body.dump());
      return true;
    } catch (e) {
      if (e instanceof DstackError && e.status === 404) return false;
      throw e;
    }
  }

  /** Streams a code archive to the host; the agent verifies the sha256. Resolves with the bytes it stored. */
  async uploadArchive(sha256: string, stream: Readable, bytes: number): Promise<number> {
    const path = `/api/archives/${encodeURIComponent(sha256)}`;
    const body = (await this.json({ method: 'PUT', path, upload: { stream, bytes }, timeoutMs: 10 * 60_000 })) as { bytes?: unknown };
    return typeof body.bytes === 'number' ? body.bytes : 0;
  }

  /** Agent events (first a snapshot), until `signal` aborts or the agent goes away. */
  async *events(signal: AbortSignal): AsyncGenerator<AgentEvent> {
    const res = await this.send({ method: 'GET', path: '/api/events', signal, stream: true });
    for await (const data of parseSse(res.body)) {
      const parsed = AgentEvent.safeParse(JSON.parse(data));
      if (parsed.success) yield parsed.data;
    }
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  private async json(call: Call): Promise<unknown> {
    const res = await this.send(call);
    const text = await res.body.text();
    return text.length > 0 ? JSON.parse(text) : {};
  }

  private async send(call: Call): Promise<Dispatcher.ResponseData & { body: Readable & { text(): Promise<string> } }> {
    const timeout = call.stream ? 0 : (call.timeoutMs ?? this.timeoutMs);
    let res: Dispatcher.ResponseData;
    try {
      res = await this.dispatcher.request({
        origin: this.origin,
        method: call.method,
        path: call.path,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(call.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(call.upload ? { 'content-type': 'application/gzip', 'content-length': String(call.upload.bytes) } : {}),
        },
        body: call.upload ? call.upload.stream : call.body === undefined ? null : JSON.stringify(call.body),
        signal: call.signal ?? null,
        headersTimeout: call.timeoutMs ?? this.timeoutMs,
        bodyTimeout: timeout,
      });
    } catch (e) {
      throw mapTransportError(e, this.origin);
    }
    if (res.statusCode >= 400) {
      const text = await res.body.text().catch(() => '');
      let body: unknown = {};
      try {
        body = JSON.parse(text);
      } catch {
        body = { message: text.slice(0, 500) || `agent answered HTTP ${res.statusCode}` };
      }
      throw fromWire(body, res.statusCode);
    }
    return res as Dispatcher.ResponseData & { body: Readable & { text(): Promise<string> } };
  }
}

function mapTransportError(e: unknown, origin: string): DstackError {
  if (e instanceof DstackError) return e;
  const err = e as { name?: string; code?: string; message?: string };
  if (err.name === 'AbortError' || err.code === 'UND_ERR_ABORTED') {
    return new InternalError('ABORTED', 'request to the agent was aborted', { cause: e, status: 499 });
  }
  return new InternalError('AGENT_UNREACHABLE', `agent at ${origin} is unreachable (${err.code ?? err.name ?? 'error'})`, {
    cause: e,
    status: 502,
  });
}
