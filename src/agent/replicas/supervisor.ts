import type { ReplicaSpec, ReplicaState } from '../../core/model/agent-api.js';
import { AgentError, dockerUnavailable, toAgentError } from '../errors.js';
import { exitedPatch } from './exit.js';
import { ReplicaRegistry, isTerminal } from './registry.js';
import type { ExitInfo, LogOptions, ReplicaRuntime, RuntimeHooks, RuntimeKind } from './runtime.js';
import type { Readable } from 'node:stream';

export interface SupervisorOptions {
  registry: ReplicaRegistry;
  /** The runtime `runtime: auto` specs get: docker when an engine is configured on this host. */
  hostRuntime: RuntimeKind;
  /** Whether the Docker engine answers right now (from the event watch). */
  dockerAvailable: () => { available: boolean; error?: string };
  now: () => number;
}

interface Start {
  controller: AbortController;
  done: Promise<void>;
  /** An exit seen while `run` was still in flight; applied once the running patch is in. */
  exit?: ExitInfo;
}

const unknownReplica = (id: string) => new AgentError('UNKNOWN_REPLICA', `replica ${id} is not known to this agent`, 404);

/** Formats zod issues as `field: problem` so a 400 names every bad field of the spec. */
function specError(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): AgentError {
  const parts = issues.map((i) => `${i.path.map(String).join('.') || '(spec)'}: ${i.message}`);
  return new AgentError('INVALID_SPEC', `invalid replica spec: ${parts.join('; ')}`, 400);
}

/**
 * The replica state machine (pending → pulling → creating → running → exited/failed, and stopping),
 * over whichever runtime runs each replica. Runtimes report through RuntimeHooks; the supervisor decides.
 */
export class Supervisor implements RuntimeHooks {
  private readonly runtimes = new Map<RuntimeKind, ReplicaRuntime>();
  private readonly starts = new Map<string, Start>();
  private readonly stops = new Map<string, Promise<ReplicaState>>();
  /** Replicas whose container/process was removed by a stop; a repeated DELETE just answers their state. */
  private readonly removed = new Set<string>();

  constructor(private readonly opts: SupervisorOptions) {}

  private get registry(): ReplicaRegistry {
    return this.opts.registry;
  }

  attach(runtime: ReplicaRuntime): void {
    this.runtimes.set(runtime.kind, runtime);
  }

  list(): ReplicaState[] {
    return this.registry.list();
  }

  get(id: string): ReplicaState {
    const state = this.registry.get(id);
    if (!state) throw unknownReplica(id);
    return state;
  }

  /** Validates and starts a replica; answers at once with `pending` (the work goes on in the background). */
  async create(input: unknown): Promise<{ state: ReplicaState; created: boolean }> {
    // The API's schemas (and zod) load with the first spec, not at start-up: an idle agent holds none (issue 15).
    const { ReplicaSpec } = await import('../../core/model/agent-api.js');
    const parsed = ReplicaSpec.safeParse(input);
    if (!parsed.success) throw specError(parsed.error.issues);
    const spec = parsed.data;
    const existing = this.registry.get(spec.id);
    if (existing) {
      // The same spec again (a retried POST) is answered with the replica as it is now.
      if (!isTerminal(existing) && JSON.stringify(this.registry.spec(spec.id)) === JSON.stringify(spec)) {
        return { state: existing, created: false };
      }
      throw new AgentError('REPLICA_EXISTS', `replica ${spec.id} already exists (${existing.phase}); stop it first or use a new id`, 409);
    }
    const runtime = this.runtimeFor(spec);
    const state: ReplicaState = {
      id: spec.id, runName: spec.runName, replicaNum: spec.replicaNum, project: spec.project,
      runtime: runtime.kind, phase: 'pending', createdAt: this.opts.now(),
    };
    this.registry.put(state, spec);
    this.removed.delete(spec.id);
    const controller = new AbortController();
    const start: Start = { controller, done: Promise.resolve() };
    start.done = runtime.run(spec, controller.signal).then(
      (patch) => this.started(spec.id, start, patch),
      (e: unknown) => this.failed(spec.id, e),
    ).finally(() => this.starts.delete(spec.id));
    this.starts.set(spec.id, start);
    return { state, created: true };
  }

  private runtimeFor(spec: ReplicaSpec): ReplicaRuntime {
    const kind = spec.runtime === 'auto' ? this.opts.hostRuntime : spec.runtime;
    const runtime = this.runtimes.get(kind);
    if (kind === 'docker') {
      if (!runtime) throw dockerUnavailable('this agent runs without a Docker engine (process runtime only)');
      const docker = this.opts.dockerAvailable();
      if (!docker.available) throw dockerUnavailable(docker.error ?? 'not connected');
      if (!spec.image) throw new AgentError('INVALID_SPEC', 'invalid replica spec: image: required when the replica runs in Docker', 400);
    }
    if (!runtime) throw new AgentError('RUNTIME_UNAVAILABLE', `the ${kind} runtime is not available on this agent`, 503);
    return runtime;
  }

  private started(id: string, start: Start, patch: Partial<ReplicaState>): void {
    const current = this.registry.get(id);
    if (!current || isTerminal(current) || current.phase === 'stopping') return;
    this.registry.patch(id, patch);
    if (start.exit) this.registry.patch(id, exitedPatch(start.exit));
  }

  private failed(id: string, e: unknown): void {
    const current = this.registry.get(id);
    if (!current || isTerminal(current) || current.phase === 'stopping') return;
    const err = toAgentError(e, 'START_FAILED');
    this.registry.patch(id, { phase: 'failed', reason: err.code, message: err.message, finishedAt: this.opts.now() });
  }

  progress(id: string, patch: Partial<ReplicaState>): void {
    const current = this.registry.get(id);
    if (current && !isTerminal(current) && current.phase !== 'stopping') this.registry.patch(id, patch);
  }

  exited(id: string, info: ExitInfo): void {
    const start = this.starts.get(id);
    if (start) {
      start.exit = info;
      return;
    }
    const current = this.registry.get(id);
    if (!current || isTerminal(current) || current.phase === 'stopping' || this.removed.has(id)) return;
    this.registry.patch(id, { finishedAt: this.opts.now(), ...exitedPatch(info) });
  }

  /** Graceful stop: abort a start in flight, then SIGTERM, the stop timeout, kill, and remove. Idempotent. */
  stop(id: string, timeoutSeconds?: number): Promise<ReplicaState> {
    const current = this.get(id);
    if (this.removed.has(id)) return Promise.resolve(current);
    const inFlight = this.stops.get(id);
    if (inFlight) return inFlight;
    const promise = this.doStop(current, timeoutSeconds).finally(() => this.stops.delete(id));
    this.stops.set(id, promise);
    return promise;
  }

  private async doStop(current: ReplicaState, timeoutSeconds: number | undefined): Promise<ReplicaState> {
    const { id } = current;
    const wasTerminal = isTerminal(current);
    if (!wasTerminal) this.registry.patch(id, { phase: 'stopping' });
    const start = this.starts.get(id);
    if (start) {
      start.controller.abort();
      await start.done;
    }
    const runtime = this.runtimes.get(current.runtime);
    const timeout = timeoutSeconds ?? this.registry.spec(id)?.stopTimeoutSeconds ?? 10;
    const info = runtime ? await runtime.stop(id, timeout) : undefined;
    this.removed.add(id);
    if (wasTerminal) return this.get(id);
    const exitCode = info?.exitCode !== undefined ? { exitCode: info.exitCode } : {};
    return this.registry.patch(id, {
      phase: 'exited', reason: 'STOPPED', message: 'stopped on request', finishedAt: this.opts.now(), ...exitCode,
    }) as ReplicaState;
  }

  /** Streams logs; with `follow`, waits for the container/process to exist first. */
  async logs(id: string, options: LogOptions): Promise<Readable> {
    let state = this.get(id);
    if (options.follow && ['pending', 'pulling', 'creating'].includes(state.phase)) {
      state = await this.waitUntilStarted(id, options.signal);
    }
    const runtime = this.runtimes.get(state.runtime);
    if (!runtime || (state.phase === 'failed' && !state.containerId && !state.pid)) {
      throw new AgentError('LOGS_UNAVAILABLE', `replica ${id} never started: ${state.message ?? state.reason ?? ''}`, 404);
    }
    return runtime.logs(id, options);
  }

  private waitUntilStarted(id: string, signal: AbortSignal): Promise<ReplicaState> {
    return new Promise((resolve, reject) => {
      const done = (state: ReplicaState) => {
        unsubscribe();
        resolve(state);
      };
      const unsubscribe = this.registry.subscribe((event) => {
        if (event.type === 'replica' && event.replica.id === id && !['pending', 'pulling', 'creating'].includes(event.replica.phase)) {
          done(event.replica);
        }
      });
      signal.addEventListener('abort', () => {
        unsubscribe();
        reject(new AgentError('ABORTED', 'client went away', 499));
      }, { once: true });
    });
  }

  /**
   * Merges what a runtime finds on the host with what the agent knows: on start (adoption after an agent
   * restart) and after Docker comes back (containers may have died while the engine was away).
   */
  async adopt(runtime: ReplicaRuntime): Promise<void> {
    const found = await runtime.adopt();
    const seen = new Set<string>();
    for (const state of found) {
      seen.add(state.id);
      const current = this.registry.get(state.id);
      if (!current) this.registry.put(state);
      else if (this.starts.has(state.id) || current.phase === 'stopping' || isTerminal(current)) continue;
      else if (isTerminal(state)) this.registry.patch(state.id, state);
    }
    for (const current of this.registry.list()) {
      if (current.runtime !== runtime.kind || seen.has(current.id) || isTerminal(current)) continue;
      if (this.starts.has(current.id) || current.phase === 'stopping' || this.removed.has(current.id)) continue;
      this.registry.patch(current.id, exitedPatch({ lastLines: [], vanished: true }));
    }
  }

  async close(): Promise<void> {
    for (const runtime of this.runtimes.values()) await runtime.close();
  }
}
