import type { Readable } from 'node:stream';
import type { ReplicaSpec, ReplicaState } from '../../core/model/agent-api.js';

export type RuntimeKind = ReplicaState['runtime'];

/** How a replica's workload ended, as the runtime saw it. */
export interface ExitInfo {
  exitCode?: number;
  oomKilled?: boolean;
  /** The last lines of its log, for the failure message. */
  lastLines: string[];
  finishedAt?: number;
  /** The container or process vanished without an exit status (removed by someone else). */
  vanished?: boolean;
}

/** What a runtime tells the supervisor while it works; the supervisor owns the state machine. */
export interface RuntimeHooks {
  /** Intermediate phases of `run` (pulling with progress, creating). */
  progress(id: string, patch: Partial<ReplicaState>): void;
  /** The workload ended, whoever caused it. */
  exited(id: string, info: ExitInfo): void;
}

export interface LogOptions {
  follow: boolean;
  /** Unix seconds; only lines written at or after it. */
  since?: number;
  signal: AbortSignal;
}

/** Runs replica specs on this host: Docker containers, or plain process groups where no engine exists. */
export interface ReplicaRuntime {
  readonly kind: RuntimeKind;
  /** Starts the workload; resolves with the `running` patch (hostPort, ids) or rejects with an AgentError. */
  run(spec: ReplicaSpec, signal: AbortSignal): Promise<Partial<ReplicaState>>;
  /** Graceful stop (SIGTERM, timeout, kill) and cleanup; idempotent; resolves with how it ended, if known. */
  stop(id: string, timeoutSeconds: number): Promise<ExitInfo | undefined>;
  /** Raw log bytes (stdout and stderr interleaved). */
  logs(id: string, options: LogOptions): Promise<Readable>;
  /** Replicas this runtime finds on the host that carry this agent's marks (labels, replica dirs). */
  adopt(): Promise<ReplicaState[]>;
  close(): Promise<void>;
}
