import type Docker from 'dockerode';
import { LABELS } from '../../core/model/agent-constants.js';
import { engineMessage } from './errors.js';

export interface DockerStatus {
  available: boolean;
  version?: string;
  error?: string;
}

/** One container event from `GET /events` (only the fields the agent reads). */
export interface ContainerEvent {
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface DockerWatchOptions {
  docker: Docker;
  agentId: string;
  timers: Timers;
  onEvent(event: ContainerEvent): void;
  onStatus(status: DockerStatus): void;
  /** Runs after each (re)connect, once the event stream is open, so no exit between the two is missed. */
  onConnected(): Promise<void>;
  retryMinMs?: number;
  retryMaxMs?: number;
}

/**
 * Follows Docker's event stream for this agent's containers and is the agent's source of truth on whether
 * the engine is up: the stream ends when dockerd stops, and the watch reconnects (with backoff) when it
 * returns, so the agent recovers without a restart (issue: "when Docker returns, the agent recovers").
 */
export function watchDocker(options: DockerWatchOptions): () => void {
  const { docker, timers } = options;
  const minMs = options.retryMinMs ?? 250;
  const maxMs = options.retryMaxMs ?? 5000;
  let closed = false;
  let delay = minMs;
  let timer: unknown;
  let stream: NodeJS.ReadableStream | undefined;
  let lastStatus: DockerStatus | undefined;

  const setStatus = (status: DockerStatus) => {
    if (lastStatus && lastStatus.available === status.available && lastStatus.error === status.error) return;
    lastStatus = status;
    options.onStatus(status);
  };

  const retry = (error: string) => {
    stream = undefined;
    if (closed) return;
    setStatus({ available: false, error });
    timer = timers.setTimeout(() => void connect(), delay);
    delay = Math.min(delay * 2, maxMs);
  };

  const connect = async () => {
    if (closed) return;
    try {
      const version = await docker.version();
      const filters = { type: ['container' as const], label: [`${LABELS.agent}=${options.agentId}`], event: ['die', 'destroy', 'oom'] };
      const events = await docker.getEvents({ filters });
      if (closed) return destroy(events);
      stream = events;
      let buffered = '';
      let ended = false;
      const onEnd = (why: string) => {
        if (ended) return;
        ended = true;
        retry(why);
      };
      events.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line) parseEvent(line, options.onEvent);
        }
      });
      events.on('error', (e: unknown) => onEnd(engineMessage(e)));
      events.on('end', () => onEnd('the Docker event stream ended (dockerd stopped?)'));
      events.on('close', () => onEnd('the Docker event stream closed (dockerd stopped?)'));
      delay = minMs;
      setStatus({ available: true, version: version.Version });
      await options.onConnected();
    } catch (e) {
      retry(engineMessage(e));
    }
  };

  void connect();
  return () => {
    closed = true;
    if (timer !== undefined) timers.clearTimeout(timer);
    if (stream) destroy(stream);
  };
}

function parseEvent(line: string, onEvent: (e: ContainerEvent) => void): void {
  try {
    const event = JSON.parse(line) as ContainerEvent;
    if (event.Actor?.ID) onEvent(event);
  } catch {
    // A malformed line from the engine is skipped rather than ending the watch.
  }
}

function destroy(stream: NodeJS.ReadableStream): void {
  (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
}
