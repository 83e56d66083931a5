import type { ServerResponse } from 'node:http';
import type { AgentEvent } from '../../core/model/agent-api.js';
import type { ReplicaRegistry } from '../replicas/registry.js';
import type { Timers } from '../docker/watch.js';

export interface EventStreamOptions {
  registry: ReplicaRegistry;
  docker: () => { available: boolean; error?: string };
  timers: Timers;
  heartbeatMs?: number;
}

/**
 * `GET /api/events`: a snapshot first, the Docker status, then every change (so the daemon never polls).
 * Comment lines keep idle connections (and SSH tunnels) alive. Returns the cleanup.
 */
export function streamEvents(res: ServerResponse, options: EventStreamOptions): () => void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const send = (event: AgentEvent) => res.write(`data: ${JSON.stringify(event)}\n\n`);
  send({ type: 'snapshot', replicas: options.registry.list() });
  const docker = options.docker();
  send({ type: 'docker', available: docker.available, ...(docker.error ? { error: docker.error } : {}) });
  const unsubscribe = options.registry.subscribe(send);
  let timer: unknown;
  const beat = () => {
    res.write(': keep-alive\n\n');
    timer = options.timers.setTimeout(beat, options.heartbeatMs ?? 15_000);
  };
  timer = options.timers.setTimeout(beat, options.heartbeatMs ?? 15_000);
  const cleanup = () => {
    unsubscribe();
    options.timers.clearTimeout(timer);
  };
  res.on('close', cleanup);
  return cleanup;
}
